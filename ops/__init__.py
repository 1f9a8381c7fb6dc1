"""Operations: benchmark harness, dashboards, runbooks and helper scripts."""
