-- call_events grows with every event: partition it by month of recorded_at, so retention
-- drops whole months and queries by time touch few partitions. Monthly partitions ahead of
-- time are created by the application (adapters/postgres/partitions.py) at start and daily;
-- the DEFAULT partition only catches what falls outside them (clock skew, a rebuild of
-- history older than the retention horizon), so no insert can ever fail for want of one.
ALTER TABLE call_events RENAME TO call_events_unpartitioned;
ALTER INDEX call_events_pkey RENAME TO call_events_unpartitioned_pkey;
ALTER INDEX call_events_project_position RENAME TO call_events_unpartitioned_project_position;
ALTER INDEX call_events_call_time RENAME TO call_events_unpartitioned_call_time;
ALTER INDEX call_events_type_time RENAME TO call_events_unpartitioned_type_time;

CREATE TABLE call_events (
    LIKE call_events_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (position, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE TABLE call_events_default PARTITION OF call_events DEFAULT;
CREATE INDEX call_events_project_position ON call_events (project_id, position);
CREATE INDEX call_events_call_time ON call_events (call_sid, event_time DESC);
CREATE INDEX call_events_type_time ON call_events (event_type, event_time DESC);

-- Months that already hold rows get their own partitions before the rows move in.
DO $$
DECLARE m date;
BEGIN
    FOR m IN SELECT DISTINCT date_trunc('month', recorded_at AT TIME ZONE 'UTC')::date
             FROM call_events_unpartitioned LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF call_events FOR VALUES FROM (%L) TO (%L)',
            'call_events_' || to_char(m, 'YYYY_MM'),
            (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    END LOOP;
END $$;
INSERT INTO call_events SELECT * FROM call_events_unpartitioned;
DROP TABLE call_events_unpartitioned;
