"""Refusals explain themselves: rule, dataset.table.column, clause, hint — and never echo literals."""

from __future__ import annotations

import pytest
from checker_fixtures import demo_catalog, demo_grants, rowlevel_grants

from common.errors import PolicyViolation
from policies.checker import check

PLANTED = "500101199001011234"


def refusal(sql: str, grants=None) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as info:
        check(sql, grants or demo_grants(), demo_catalog())
    return info.value


def text(v: PolicyViolation) -> str:
    return " ".join(str(x) for x in (v.rule, v.message, v.column, v.clause, v.hint) if x)


def test_aggregate_only_names_column_clause_and_hint():
    v = refusal("SELECT district, income FROM persons GROUP BY district, income")
    assert v.rule == "aggregate_only"
    assert v.column == "population.persons.income"
    assert v.clause == "select"
    assert "income" in v.hint and "sum" in v.hint and "avg" in v.hint


def test_revealing_aggregate_explains_function():
    v = refusal("SELECT district, max(income) FROM persons GROUP BY district")
    assert (v.rule, v.column, v.clause) == ("revealing_aggregate", "population.persons.income", "select")
    assert "max()" in v.message and "aggregate-only" in v.hint


def test_deny_column_in_where_names_clause():
    v = refusal(f"SELECT count(*) FROM persons WHERE id_card = '{PLANTED}'")
    assert (v.rule, v.column, v.clause) == ("deny_column", "population.persons.id_card", "where")
    assert PLANTED not in text(v)


def test_identifier_literal_never_echoes_the_value():
    v = refusal(
        "SELECT district, count(*) FROM persons WHERE person_id = 500101199001011234 GROUP BY district"
    )
    assert (v.rule, v.column, v.clause) == ("identifier_literal", "population.persons.person_id", "where")
    assert PLANTED not in text(v)
    assert "join" in v.hint


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT count(*) FROM persons WHERE phone LIKE '{PLANTED}%'",
        f"SELECT count(*) FROM '{PLANTED}.csv'",
        f"SELECT count(*) FROM read_csv('{PLANTED}')",
        f'SELECT count(*) FROM "{PLANTED}"',
        f'SELECT "{PLANTED}", count(*) FROM persons GROUP BY 1',
        f"SELECT count(*) FROM persons WHERE district = '{PLANTED}' AND income > 5",
        f"SELECT count(*) FROM persons; SELECT '{PLANTED}'",
        f"SELEKT '{PLANTED}' FROM persons",
        f"SELECT count(*) FROM persons WHERE district = getvariable('{PLANTED}')",
        f"SELECT '{PLANTED}' AS __shuyu_x FROM persons",
        f"SELECT md5('{PLANTED}'), count(*) FROM persons",
        f"SELECT count(*) FROM persons WHERE person_id IN ({PLANTED}, 1)",
        f"SELECT count(*) FROM population.{PLANTED}",
        f"SELECT count(*) FROM persons p, households h WHERE p.district = '{PLANTED}'",
    ],
)
def test_no_planted_literal_in_any_refusal(sql):
    v = refusal(sql)
    assert PLANTED not in text(v)
    assert v.hint


def test_join_rule_hint_shows_equality_join():
    v = refusal("SELECT count(*) FROM persons p JOIN households h ON p.district = h.district")
    assert v.rule == "join_rule" and v.clause == "join"
    assert "=" in v.hint


def test_row_level_refusal_says_add_group_by():
    v = refusal("SELECT district, age FROM persons")
    assert v.rule == "row_level_not_allowed" and "GROUP BY" in v.hint


def test_row_level_group_column_is_named():
    v = refusal("SELECT district FROM persons", rowlevel_grants())
    assert (v.rule, v.column) == ("row_level_not_allowed", "population.persons.district")


def test_cte_laundering_names_the_base_column():
    v = refusal("WITH t AS (SELECT person_id AS pid FROM persons) SELECT pid, count(*) FROM t GROUP BY pid")
    assert (v.rule, v.column, v.clause) == ("join_rule", "population.persons.person_id", "select")


def test_inactive_grants_do_not_count():
    from dataclasses import replace

    grants = tuple(replace(g, status="suspended") for g in demo_grants())
    assert refusal("SELECT count(*) FROM persons", grants).rule == "unknown_table"


def test_limits():
    assert refusal("SELECT count(*) FROM persons WHERE district = '" + "x" * 30000 + "'").rule == "too_long"
    assert refusal("SELECT " + "(" * 100 + "1" + ")" * 100 + " FROM persons").rule == "too_deep"
    assert refusal("SELECT count(*) FROM persons WHERE " + " NOT " * 3000 + " age > 1").rule == "too_deep"
    deep = "SELECT count(*) FROM persons WHERE " + " AND ".join(["age > 1"] * 1500)
    assert refusal(deep).rule == "too_deep"
    # the default depth (64) is actually parseable
    check(
        "SELECT count(*) FROM persons WHERE " + "(" * 60 + "age > 1" + ")" * 60, demo_grants(), demo_catalog()
    )
