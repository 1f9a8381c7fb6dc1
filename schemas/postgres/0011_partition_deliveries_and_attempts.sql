-- The append-heavy message and campaign tables grow with every delivery status and every
-- dial attempt: partition them by month of the time their row was first recorded, like
-- call_events (0004), so old months can be dropped or archived whole and time-bounded
-- queries touch few partitions. That time never changes once a row exists, so an upsert
-- never moves a row between partitions. A partitioned table's primary key must hold the
-- partition key, hence the wider keys; the projections write with the same keys.
-- Snapshot tables keyed by id (messages, message_errors, campaigns, campaign_contacts,
-- conversations...) stay as they are: one row per thing, updated in place.
-- Partitions for this month and the next ones are created by the application
-- (adapters/postgres/partitions.py); DEFAULT catches anything outside them.
-- Rollback: recreate each table unpartitioned with its old key and copy the rows back.

ALTER TABLE message_deliveries RENAME TO message_deliveries_unpartitioned;
ALTER INDEX message_deliveries_pkey RENAME TO message_deliveries_unpartitioned_pkey;
CREATE TABLE message_deliveries (
    LIKE message_deliveries_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (project_id, message_sid, status, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE TABLE message_deliveries_default PARTITION OF message_deliveries DEFAULT;

ALTER TABLE campaign_results RENAME TO campaign_results_unpartitioned;
ALTER INDEX campaign_results_pkey RENAME TO campaign_results_unpartitioned_pkey;
ALTER INDEX campaign_results_campaign_status RENAME TO campaign_results_unpartitioned_status;
ALTER INDEX campaign_results_call_sid RENAME TO campaign_results_unpartitioned_call_sid;
CREATE TABLE campaign_results (
    LIKE campaign_results_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (project_id, campaign_id, attempt_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE campaign_results_default PARTITION OF campaign_results DEFAULT;
CREATE INDEX campaign_results_campaign_status ON campaign_results (campaign_id, status);
CREATE INDEX campaign_results_call_sid
    ON campaign_results (project_id, call_sid) WHERE call_sid IS NOT NULL;

-- Months that already hold rows get their own partitions before the rows move in.
DO $$
DECLARE t record; m date;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('message_deliveries', 'recorded_at'),
                                   ('campaign_results', 'created_at')) v(name, col) LOOP
        FOR m IN EXECUTE format(
            'SELECT DISTINCT date_trunc(''month'', %I AT TIME ZONE ''UTC'')::date FROM %I',
            t.col, t.name || '_unpartitioned') LOOP
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                t.name || '_' || to_char(m, 'YYYY_MM'), t.name,
                (m::timestamp AT TIME ZONE 'UTC'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        END LOOP;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', t.name, t.name || '_unpartitioned');
        EXECUTE format('DROP TABLE %I', t.name || '_unpartitioned');
    END LOOP;
END $$;
