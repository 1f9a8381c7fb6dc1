-- When the ClickHouse projection wrote the row (the server's clock at insert), for the
-- webhook-to-projection latency query (queries/projection_latency.sql, ADR 0009). It is
-- the one column that is not a function of the event: a replayed copy carries the time of
-- its replay, and ReplacingMergeTree keeps one copy, so after a rebuild it measures the
-- rebuild. Rows written before this migration have no stored value: old parts compute
-- the DEFAULT when read (so they read as "now"), until a merge stores one. Latency figures
-- are therefore meaningful from the first rows written after this migration.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS projected_at DateTime64(3, 'UTC') DEFAULT now64(3)
    COMMENT 'When the projection inserted this row (server clock); not a function of the event';
