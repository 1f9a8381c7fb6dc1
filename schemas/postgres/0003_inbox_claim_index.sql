-- Claims read pending rows in id order: index exactly that, so a claim is an ordered index
-- scan that stops after the batch, instead of sorting every pending row (which spilled to
-- disk at 20,000 pending rows). Retry times are filtered on the way.
DROP INDEX IF EXISTS webhook_inbox_pending;
CREATE INDEX IF NOT EXISTS webhook_inbox_pending_by_id
    ON webhook_inbox (id) WHERE processing_status = 'pending';
