"""Property-based: random and mutated SQL only ever yields a CheckedQuery or a PolicyViolation, and an
accepted query never reads a `deny` column."""

from __future__ import annotations

import re

import sqlglot
from checker_cases import load_cases
from checker_fixtures import GRANTS, demo_catalog, demo_grants, rowlevel_grants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from common.errors import PolicyViolation
from common.types import CheckedQuery, Rule
from policies.checker import check

CORPUS = [c.sql for c in load_cases()]
GRANT_SETS = {"demo": demo_grants(), "rowlevel": rowlevel_grants()} | {k: f() for k, (f, _) in GRANTS.items()}
CATALOG = demo_catalog()
TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\w+|[^\w\s]")
IDENTS = [
    "name",
    "id_card",
    "phone",
    "person_id",
    "hh_id",
    "legal_rep_name",
    "legal_rep_id_card",
    "income",
    "district",
    "age",
    "birth_date",
    "employer_uscc",
    "uscc",
    "base_amount",
    "persons",
    "households",
    "contributions",
    "enterprises",
    "population",
    "read_csv",
    "max",
    "min",
    "list",
    "md5",
    "substr",
    "count",
    "sum",
    "avg",
    "OVER",
    "UNION",
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "ON",
    "GROUP",
    "BY",
    "HAVING",
    "(",
    ")",
    ",",
    "*",
    "=",
    "'x'",
    "1",
    "AND",
    "OR",
    "NOT",
    "IN",
    ";",
    "--",
    "/*",
    "*/",
    "p",
    "h",
    "c",
    ".",
    "DISTINCT",
    "WITH",
    "AS",
    "LIMIT",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "||",
    "::",
]


def deny_columns_referenced(sql: str, grants) -> list[str]:
    """Columns of the checked SQL whose base rule is `deny` (resolving aliases to base tables)."""
    by_dataset = {g.dataset: g for g in grants}
    tree = sqlglot.parse_one(sql, read="duckdb")
    aliases = {}
    for table in tree.find_all(exp.Table):
        if table.db:
            aliases[table.alias_or_name] = (table.db, table.name)
    bad = []
    for column in tree.find_all(exp.Column):
        base = aliases.get(column.table)
        if base is None:
            continue
        grant = by_dataset[base[0]]
        if grant.rule_for(base[1], column.name).rule is Rule.deny:
            bad.append(f"{base[0]}.{base[1]}.{column.name}")
    return bad


def run(sql: str, grant_set: str) -> None:
    grants = GRANT_SETS[grant_set]
    try:
        result = check(sql, grants, CATALOG)
    except PolicyViolation as violation:
        assert violation.rule and isinstance(violation.message, str)
        return
    assert isinstance(result, CheckedQuery)
    assert deny_columns_referenced(result.sql, grants) == []
    assert not result.is_aggregate or result.unit_columns


@st.composite
def mutated(draw):
    tokens = TOKEN.findall(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        i = draw(st.integers(0, max(len(tokens) - 1, 0)))
        if not tokens:
            break
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(IDENTS)))
        else:
            tokens[i] = draw(st.sampled_from(IDENTS))
    return " ".join(tokens)


FAST = settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(mutated(), st.sampled_from(["demo", "rowlevel"]))
def test_mutated_corpus(sql, grant_set):
    run(sql, grant_set)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["demo", "rowlevel"]))
def test_random_text(sql, grant_set):
    run(sql, grant_set)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(IDENTS), max_size=40), st.sampled_from(["demo", "rowlevel"]))
def test_random_token_soup(tokens, grant_set):
    run(" ".join(tokens), grant_set)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["name", "id_card", "phone", "hh_id", "legal_rep_name", "person_id"]),
    st.sampled_from(
        [
            "SELECT {c}, count(*) FROM persons GROUP BY 1",
            "WITH t AS (SELECT {c} AS x FROM persons) SELECT x FROM t",
            "SELECT district, count(*) FROM persons WHERE {c} IS NOT NULL GROUP BY district",
            "SELECT district FROM (SELECT {c}, district FROM persons) s GROUP BY district",
            "SELECT {c} FROM households",
            "SELECT count(DISTINCT {c}) FROM enterprises.enterprises",
        ]
    ),
)
def test_sensitive_identifiers_in_templates(column, template):
    run(template.format(c=column), "rowlevel")


def test_every_allowed_corpus_query_is_deny_free():
    for case in load_cases():
        if case.expect == "allow":
            grants = GRANT_SETS.get(case.grant, demo_grants())
            assert deny_columns_referenced(check(case.sql, grants, CATALOG).sql, grants) == []
