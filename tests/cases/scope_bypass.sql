-- case: alias laundering a denied column
-- expect: deny deny_column population.persons.name
SELECT name AS district_name, count(*) FROM persons GROUP BY 1;

-- case: cte laundering an aggregate column
-- grant: rowlevel
-- expect: deny aggregate_only population.persons.income
WITH t AS (SELECT income AS x FROM persons) SELECT x FROM t;

-- case: nested subquery laundering an aggregate column into group by
-- expect: deny aggregate_only population.persons.income
SELECT x, count(*) FROM (SELECT income AS x FROM persons) s GROUP BY x;

-- case: cte laundering a denied column
-- expect: deny deny_column population.persons.id_card
WITH t AS (SELECT id_card AS k, district FROM persons) SELECT district, count(*) FROM t GROUP BY district;

-- case: subquery in select with denied column
-- expect: deny scalar_subquery
SELECT district, (SELECT max(name) FROM persons) FROM persons GROUP BY district;

-- case: scalar subquery with a tiny aggregate
-- expect: deny scalar_subquery
SELECT district, count(*) FROM persons WHERE age > (SELECT avg(age) FROM persons WHERE street = 'x') GROUP BY district;

-- case: where subquery on denied column
-- expect: deny deny_column population.persons.phone
SELECT district, count(*) FROM persons WHERE district IN (SELECT district FROM persons WHERE phone LIKE '138%') GROUP BY district;

-- case: aggregated subquery in IN
-- expect: deny subquery_aggregate
SELECT district, count(*) FROM persons WHERE age IN (SELECT max(age) FROM persons) GROUP BY district;

-- case: from subquery with denied column
-- expect: deny deny_column population.persons.name
SELECT n, count(*) FROM (SELECT name AS n FROM persons) s GROUP BY n;

-- case: union with a denied column
-- expect: deny deny_column population.persons.name
SELECT district, count(*) FROM persons GROUP BY district UNION ALL SELECT name, count(*) FROM persons GROUP BY name;

-- case: union mixing aggregated and row-level sides
-- grant: rowlevel
-- expect: deny mixed_aggregation
SELECT district, count(*) FROM persons GROUP BY district UNION ALL SELECT name, 1 FROM enterprises.enterprises;

-- case: cte shadowing a granted table
-- expect: deny cte_shadowing
WITH persons AS (SELECT name AS district FROM population.persons) SELECT district, count(*) FROM persons GROUP BY district;

-- case: cte shadowing with different case
-- expect: deny cte_shadowing
WITH "Households" AS (SELECT 1 AS x FROM persons) SELECT count(*) FROM households;

-- case: quoted mixed-case denied column
-- expect: deny deny_column population.persons.id_card
SELECT "ID_CARD", count(*) FROM persons GROUP BY 1;

-- case: upper-case denied column
-- expect: deny deny_column population.persons.name
SELECT NAME, COUNT(*) FROM PERSONS GROUP BY NAME;

-- case: comment hiding a denied column
-- expect: deny deny_column population.persons.name
SELECT district, /* harmless */ count(DISTINCT name) FROM persons GROUP BY district;

-- case: row variable
-- grant: rowlevel
-- expect: deny row_variable
SELECT persons FROM persons;

-- case: ambiguous unqualified table
-- grant: dup
-- expect: deny ambiguous_table
SELECT count(*) FROM persons;

-- case: order by an aggregate column in a row-level subquery
-- expect: deny aggregate_only population.persons.income
WITH t AS (SELECT district, income FROM persons ORDER BY income DESC LIMIT 1) SELECT district, count(*) FROM t GROUP BY district;

-- case: nested aggregation over an aggregated cte
-- expect: deny nested_aggregate
WITH t AS (SELECT street, avg(income) AS a FROM persons GROUP BY street) SELECT max(a) FROM t;

-- case: distinct inside a cte
-- expect: deny distinct_subquery
WITH t AS (SELECT DISTINCT district FROM persons) SELECT count(*) FROM t;

-- case: correlated subquery comparing group columns across tables
-- expect: deny join_rule
SELECT p.district, count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.district = p.district) GROUP BY p.district;

-- case: correlated subquery with a denied column
-- expect: deny deny_column population.households.hh_id
SELECT p.district, count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.person_id = p.person_id AND h.hh_id = 7) GROUP BY p.district;

-- case: unknown column
-- expect: deny unknown_column
SELECT salary, count(*) FROM persons GROUP BY salary;

-- case: join key output via cte
-- expect: deny join_rule population.persons.person_id
WITH t AS (SELECT person_id AS pid FROM persons) SELECT pid, count(*) FROM t GROUP BY pid;

-- case: aggregate column used as group key through cte expression
-- expect: deny aggregate_only population.persons.income
WITH t AS (SELECT income * 1 AS x FROM persons) SELECT x, count(*) FROM t GROUP BY x;

-- case: derived aggregate column used in where after cte
-- expect: deny aggregate_only population.persons.income
WITH t AS (SELECT district, income FROM persons) SELECT district, count(*) FROM t WHERE income > 100000 GROUP BY district;

-- case: membership of a group value reveals that a tiny group exists
-- expect: deny subquery_membership
SELECT district, count(*) FROM persons WHERE district IN (SELECT district FROM persons WHERE age = 103) GROUP BY district;

-- case: uncorrelated exists answers a yes/no question about one person
-- expect: deny subquery_membership
SELECT count(*) FROM persons WHERE EXISTS (SELECT 1 FROM persons WHERE age = 103 AND street = '解放碑街道');
