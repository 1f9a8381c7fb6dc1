"""Reading the rows of a batch's keys by index, whatever the table's size.

`WHERE (a, b) IN (SELECT * FROM unnest(...))` lets the planner hash the keys and scan the
whole table instead. A prepared statement's generic plan, which cannot know how many keys
it will be given, did so for tables of up to some thousands of rows (ADR 0017), and every
batch then read every row: in the realtime benchmark the inbox worker scanned all of
`operations` and `webhook_inbox`, and `calls_view` all of `calls`, hundreds of times a
second. A LATERAL subquery behind `OFFSET 0`, which the planner cannot flatten into a
join, runs once per key, by the index on the key's columns.
"""

from __future__ import annotations

from collections.abc import Sequence


def by_keys(
    table: str, columns: Sequence[str], key: Sequence[tuple[str, str]], placeholder: str = "%s"
) -> str:
    """SELECT `columns` of the `table` rows matching any of the keys, which come as one
    array parameter per key column, in `key`'s (column, SQL type) order; each key costs
    one probe of an index that leads with those columns. The row is `r`: a bare column
    name is read from it, and anything else (`r.*`, `r.project_id::text AS project_id`)
    is used as written. Unlike `IN`, a key given twice returns its rows twice.
    `placeholder`: psycopg's `%b` sends the arrays binary."""
    names = [name for name, _ in key]
    arrays = ", ".join(f"{placeholder}::{sql_type}[]" for _, sql_type in key)
    match = " AND ".join(f"r.{name} = k.{name}" for name in names)
    selected = ", ".join(f"r.{c}" if c.isidentifier() else c for c in columns)
    return (
        f"SELECT {selected} FROM unnest({arrays}) AS k({', '.join(names)})"
        f" CROSS JOIN LATERAL (SELECT * FROM {table} AS r WHERE {match} OFFSET 0) AS r"
    )
