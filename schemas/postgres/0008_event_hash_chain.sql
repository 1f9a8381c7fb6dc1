-- Verifiable history (issue 7, ADR 0010): every stored event carries
--   hash = sha256(prev_hash || originator_id (16 bytes) || int8be(originator_version)
--                 || int8be(notification_id) || int4be(octet_length(topic)) || topic (UTF-8)
--                 || state)
-- where prev_hash is the hash of the aggregate's event at version - 1, or, for version 1,
-- 32 zero bytes. The batched append (adapters/postgres/event_store.py, the
-- inbox worker's path) computes it in Python under the table lock, with positions it takes
-- from the sequence; for every other writer (the library's recorder, a hand-written INSERT)
-- the BEFORE INSERT trigger below computes it, so no row is stored without one. Updates,
-- deletes and truncates are refused: the log is append-only. `switchboard audit verify`
-- recomputes every hash in Python, so a wrong supplied hash is found like an edit.
-- Rollback: DROP TRIGGER eventlog_events_chain, eventlog_events_append_only,
--           eventlog_events_no_truncate ON eventlog_events;
--           DROP FUNCTION eventlog_chain(), eventlog_refuse_change(), eventlog_link(bytea,
--           eventlog_events); ALTER TABLE eventlog_events DROP COLUMN hash;

-- The eventsourcing library creates its table on first use, after the migrations ran: create
-- it here with the library's own definition (its CREATE ... IF NOT EXISTS then does nothing).
CREATE TABLE IF NOT EXISTS eventlog_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS eventlog_events_notification_id_idx
    ON eventlog_events (notification_id ASC);

ALTER TABLE eventlog_events ADD COLUMN IF NOT EXISTS hash bytea;

CREATE OR REPLACE FUNCTION eventlog_link(prev bytea, e eventlog_events) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev || uuid_send(e.originator_id) || int8send(e.originator_version)
                  || int8send(e.notification_id)
                  || int4send(octet_length(convert_to(coalesce(e.topic, ''), 'UTF8')))
                  || convert_to(coalesce(e.topic, ''), 'UTF8') || coalesce(e.state, ''::bytea))
$$;

-- Existing rows (a store from before this migration) are chained in version order.
DO $$
DECLARE
    r eventlog_events;
    prev bytea;
    last_id uuid;
BEGIN
    FOR r IN SELECT * FROM eventlog_events ORDER BY originator_id, originator_version LOOP
        IF last_id IS DISTINCT FROM r.originator_id THEN
            prev := '\x0000000000000000000000000000000000000000000000000000000000000000';
            last_id := r.originator_id;
        END IF;
        prev := eventlog_link(prev, r);
        UPDATE eventlog_events SET hash = prev
         WHERE originator_id = r.originator_id AND originator_version = r.originator_version;
    END LOOP;
END $$;
ALTER TABLE eventlog_events ALTER COLUMN hash SET NOT NULL;
ALTER TABLE eventlog_events ADD CONSTRAINT eventlog_events_hash_is_sha256
    CHECK (octet_length(hash) = 32);

CREATE OR REPLACE FUNCTION eventlog_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    topic bytea := convert_to(coalesce(NEW.topic, ''), 'UTF8');
BEGIN
    IF NEW.originator_version > 1 THEN
        -- Rows inserted earlier by the same statement are visible here (a batch holds
        -- several events of one call, in version order).
        SELECT e.hash INTO prev FROM eventlog_events e
         WHERE e.originator_id = NEW.originator_id
           AND e.originator_version = NEW.originator_version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'event % of % has no predecessor to chain to',
                NEW.originator_version, NEW.originator_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    NEW.hash := sha256(prev || uuid_send(NEW.originator_id) || int8send(NEW.originator_version)
                       || int8send(NEW.notification_id) || int4send(octet_length(topic))
                       || topic || coalesce(NEW.state, ''::bytea));
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION eventlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'eventlog_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS eventlog_events_chain ON eventlog_events;
-- WHEN is checked without calling the function: rows hashed by the batched append cost nothing.
CREATE TRIGGER eventlog_events_chain BEFORE INSERT ON eventlog_events
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION eventlog_chain();
DROP TRIGGER IF EXISTS eventlog_events_append_only ON eventlog_events;
CREATE TRIGGER eventlog_events_append_only BEFORE UPDATE OR DELETE ON eventlog_events
    FOR EACH ROW EXECUTE FUNCTION eventlog_refuse_change();
DROP TRIGGER IF EXISTS eventlog_events_no_truncate ON eventlog_events;
CREATE TRIGGER eventlog_events_no_truncate BEFORE TRUNCATE ON eventlog_events
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_refuse_change();
