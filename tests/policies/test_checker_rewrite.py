"""The rewrite: hidden unit counts, row caps, SQL regenerated from the tree only."""

from __future__ import annotations

import sqlglot
from checker_fixtures import demo_catalog, demo_grants, rowlevel_grants
from sqlglot import exp

from policies.checker import check


def run(sql, grants=None):
    return check(sql, grants or demo_grants(), demo_catalog())


def projections(sql: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    while not isinstance(tree, exp.Select):
        tree = tree.this if not isinstance(tree, exp.SetOperation) else tree.left
    return [p.alias_or_name for p in tree.expressions]


def test_aggregate_gets_one_unit_column_per_table_reference():
    q = run(
        "SELECT p.district, sum(c.base_amount) FROM persons p JOIN contributions c "
        "ON p.person_id = c.person_id GROUP BY p.district"
    )
    assert q.is_aggregate
    assert q.unit_columns == ("__shuyu_units_0", "__shuyu_units_1")
    assert q.output_columns == ("district", "_col_1")
    assert "COUNT(DISTINCT p.person_id) AS __shuyu_units_0" in q.sql
    assert "COUNT(DISTINCT c.person_id) AS __shuyu_units_1" in q.sql
    assert projections(q.sql)[-4:-2] == list(q.unit_columns)
    assert projections(q.sql)[-2:] == list(q.population_columns) == ["__shuyu_pop_0", "__shuyu_pop_1"]
    assert q.tables == (("population", "persons"), ("social_insurance", "contributions"))
    assert q.grants == (("g-population", 1), ("g-social_insurance", 1))
    assert q.k == 10
    assert q.columns_by_clause["join"] == (
        "population.persons.person_id",
        "social_insurance.contributions.person_id",
    )
    assert q.columns_by_clause["group_by"] == ("population.persons.district",)


def test_enterprise_unit_is_uscc():
    q = run("SELECT industry, count(*) FROM enterprises GROUP BY industry")
    assert "COUNT(DISTINCT enterprises.uscc) AS __shuyu_units_0" in q.sql
    assert "FROM enterprises.enterprises AS enterprises" in q.sql


def test_units_carried_through_filtering_cte():
    q = run(
        "WITH t AS (SELECT district, income FROM persons WHERE age > 30) "
        "SELECT district, avg(income) FROM t GROUP BY district"
    )
    assert q.unit_columns == ("__shuyu_units_0",)
    assert "persons.person_id AS __shuyu_u0" in q.sql
    assert "COUNT(DISTINCT t.__shuyu_u0) AS __shuyu_units_0" in q.sql


def test_units_carried_out_of_aggregated_cte():
    q = run(
        "WITH t AS (SELECT district, avg(income) a FROM persons GROUP BY district) SELECT district, a FROM t"
    )
    assert q.is_aggregate and q.output_columns == ("district", "a")
    assert "COUNT(DISTINCT persons.person_id) AS __shuyu_u0" in q.sql
    assert "t.__shuyu_u0 AS __shuyu_units_0" in q.sql


def test_union_branches_align_unit_columns():
    q = run(
        "SELECT district, count(*) FROM persons GROUP BY district "
        "UNION ALL SELECT district, count(*) FROM households GROUP BY district"
    )
    assert q.sql.count("AS __shuyu_units_0") == 2 and q.unit_columns == ("__shuyu_units_0",)


def test_row_level_gets_row_cap():
    q = run("SELECT name FROM enterprises.enterprises", rowlevel_grants())
    assert not q.is_aggregate and q.unit_columns == ()
    assert q.row_cap == 1000 and q.sql.endswith("LIMIT 1000")
    q = run("SELECT name FROM enterprises.enterprises LIMIT 7", rowlevel_grants())
    assert q.sql.endswith("LIMIT 7")
    q = run("SELECT birth_date FROM persons LIMIT 100000", rowlevel_grants())
    assert q.row_cap == 500 and q.sql.endswith("LIMIT 500") and q.k == 5


def test_aggregate_query_is_not_limited_but_reports_cap():
    q = run("SELECT district, count(*) FROM persons GROUP BY district")
    assert "LIMIT" not in q.sql and q.row_cap == 10_000


def test_sql_is_regenerated_without_comments_or_raw_text():
    raw = (
        "select  district /* secret note 13800138000 */ , COUNT(*)  -- trailing 500101\n"
        "from PERSONS   group by district"
    )
    q = run(raw)
    assert "/*" not in q.sql and "--" not in q.sql
    assert "13800138000" not in q.sql and "500101" not in q.sql and "secret" not in q.sql
    assert "population.persons" in q.sql
    again = sqlglot.parse_one(q.sql, read="duckdb")
    assert again.sql(dialect="duckdb") == q.sql


def test_checked_sql_is_stable_under_recheck_of_visible_part():
    q = run("SELECT district, avg(income) AS a FROM persons GROUP BY district ORDER BY a DESC LIMIT 3")
    assert q.sql.startswith("SELECT persons.district AS district, AVG(persons.income) AS a")
    assert q.sql.endswith("ORDER BY a DESC LIMIT 3")
