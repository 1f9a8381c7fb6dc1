-- API keys have one of a fixed set of roles (issue 7). Exports show phone numbers unmasked
-- only to auditor and admin keys; adapters/postgres/projects.py ROLES lists the same values.
-- Rollback: ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_known;
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_known;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_known
    CHECK (role IN ('admin', 'operator', 'analyst', 'auditor', 'viewer'));
