"""The parse check over the engine's EXPLAIN AST text, and where a `;` is code."""

from __future__ import annotations

import pytest

from adapters.clickhouse.analyst import QueryRefused, check_ast, code_of

DATABASES = {"default", "system", "INFORMATION_SCHEMA", "analyst_0123"}


def tree(*lines: str) -> str:
    return "\n".join(["SelectWithUnionQuery (children 1)", *lines])


ALIASED_JOIN = tree(
    " ExpressionList (children 1)",
    "  SelectQuery (children 2)",
    "   ExpressionList (children 1)",
    "    Identifier e.status",
    "   TablesInSelectQuery (children 1)",
    "    TablesInSelectQueryElement (children 1)",
    "     TableExpression (children 1)",
    "      TableIdentifier calls (alias e)",
)


def from_table(node: str) -> str:
    return tree(
        " ExpressionList (children 1)",
        "  SelectQuery (children 2)",
        "   TablesInSelectQuery (children 1)",
        "    TablesInSelectQueryElement (children 1)",
        "     TableExpression (children 1)",
        f"      {node}",
    )


def test_unqualified_tables_and_alias_qualified_columns_pass() -> None:
    check_ast(ALIASED_JOIN, DATABASES)


@pytest.mark.parametrize(
    "ast",
    [
        from_table("TableIdentifier default.events"),
        from_table("TableIdentifier my db.events"),  # a quoted name with a space
        from_table("TableIdentifier analyst_0123.events (alias e)"),
        from_table("Function numbers (alias n) (children 1)"),
        tree("   Function in (children 1)", "     Identifier x", "     Identifier SYSTEM.one"),
        tree("    Function file (children 1)"),
        tree("    Function dictGetString (children 1)"),
        "SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n Identifier CSV",
        "InsertQuery   (children 2)",
        "ShowTables",
        "",
    ],
)
def test_anything_that_reaches_outside_is_refused(ast: str) -> None:
    with pytest.raises(QueryRefused):
        check_ast(ast, DATABASES)


def test_semicolons_count_only_outside_strings_names_and_comments() -> None:
    sql = "SELECT 'a;b', `c;d`, \"e;f\" -- g;h\n/* i;\n j */ FROM t"
    assert ";" not in code_of(sql)
    assert ";" in code_of("SELECT 'it''s' ; DROP TABLE t")
    assert ";" in code_of("SELECT '\\'' ; DROP TABLE t")
