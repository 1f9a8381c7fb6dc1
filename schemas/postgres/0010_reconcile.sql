-- Reconcile (issue 5, seed 003): job cursors, drift counters, and the index that finds
-- settled calls to freeze without a scan.
-- Rollback: DROP TABLE sync_state, reconcile_drift; DROP INDEX calls_unfrozen_finalized;

-- One row per job and project ('warm:<project uuid>'): where the next run starts, and how
-- the last ones went. A cursor only moves after a successful run, so a crash repeats a
-- window (harmless: repairs are idempotent) and never skips one.
CREATE TABLE IF NOT EXISTS sync_state (
    job_name         text PRIMARY KEY,
    cursor           jsonb NOT NULL DEFAULT '{}',
    last_success_at  timestamptz,
    last_error_at    timestamptz,
    last_error       text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- reconcile_drift_detected_total, true across processes: calls found wrong, per job and
-- kind (status, recording).
CREATE TABLE IF NOT EXISTS reconcile_drift (
    project_id  uuid NOT NULL,
    job         text NOT NULL,
    kind        text NOT NULL,
    total       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, job, kind)
);

-- Final calls not yet frozen, by when they ended: what the freeze step walks.
CREATE INDEX IF NOT EXISTS calls_unfrozen_finalized ON calls (project_id, finalized_at)
    WHERE frozen_at IS NULL AND finalized_at IS NOT NULL;
