-- Issue 10, class 1: conditional aggregates. A value inside a row may not depend on fewer than k units:
-- aggregate arguments are uniform (policies/checker/forms.py); one condition per query, counted on both
-- sides by the rewrite; never in HAVING/ORDER BY/subqueries. Compare-only columns never inside aggregates.

-- case: filter on one age (single condition) is allowed with both cells counted
-- expect: allow
SELECT district, sum(income) FILTER (WHERE age = 99) FROM persons GROUP BY district;

-- case: two filters on different ages
-- expect: deny conditional_aggregate
SELECT district, sum(income) FILTER (WHERE age = 99), sum(income) FILTER (WHERE age = 98) FROM persons GROUP BY district;

-- case: filter and complement filter on nested ranges
-- expect: deny conditional_aggregate
SELECT district, sum(income) FILTER (WHERE age >= 98), sum(income) FILTER (WHERE age >= 99) FROM persons GROUP BY district;

-- case: filter per gender and per age
-- expect: deny conditional_aggregate
SELECT district, avg(income) FILTER (WHERE gender = 'F'), avg(income) FILTER (WHERE age = 40) FROM persons GROUP BY district;

-- case: count filter with two conditions
-- expect: deny conditional_aggregate
SELECT district, count(*) FILTER (WHERE age = 99), count(*) FILTER (WHERE age = 100) FROM persons GROUP BY district;

-- case: filter in having
-- expect: deny conditional_aggregate
SELECT district, count(*) FROM persons GROUP BY district HAVING count(*) FILTER (WHERE age = 99) > 0;

-- case: filter in having with sum
-- expect: deny conditional_aggregate
SELECT district, avg(income) FROM persons GROUP BY district HAVING sum(income) FILTER (WHERE age = 99) > 50000;

-- case: filter in order by with limit
-- expect: deny conditional_aggregate
SELECT district, count(*) FROM persons GROUP BY district ORDER BY sum(income) FILTER (WHERE age = 99) DESC LIMIT 1;

-- case: filter in order by
-- expect: deny conditional_aggregate
SELECT district, count(*) FROM persons GROUP BY district ORDER BY count(*) FILTER (WHERE age = 99);

-- case: filter with limit
-- expect: deny conditional_aggregate
SELECT district, sum(income) FILTER (WHERE age = 99) FROM persons GROUP BY district LIMIT 3;

-- case: filter inside an aggregated cte
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, count(*) FILTER (WHERE age = 99) AS n FROM persons GROUP BY district) SELECT district, n FROM t;

-- case: filter inside an aggregated cte filtered outside
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, count(*) FILTER (WHERE age = 99) AS n FROM persons GROUP BY district) SELECT district FROM t WHERE n > 0;

-- case: filter inside a derived aggregated table
-- expect: deny conditional_aggregate
SELECT s.d, s.x FROM (SELECT district AS d, sum(income) FILTER (WHERE age = 99) AS x FROM persons GROUP BY district) s;

-- case: filter in a union branch plus another condition in the other
-- expect: deny conditional_aggregate
SELECT district, sum(income) FILTER (WHERE age = 99), sum(income) FILTER (WHERE age = 98) FROM persons GROUP BY district UNION ALL SELECT district, count(*), count(*) FROM households GROUP BY district;

-- case: case per age
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age = 99 THEN income ELSE 0 END), sum(CASE WHEN age = 98 THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: case per gender and age
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN gender = 'F' THEN income END), sum(CASE WHEN age = 30 THEN income END) FROM persons GROUP BY district;

-- case: conditional count via sum case then 1 twice
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age = 99 THEN 1 ELSE 0 END), sum(CASE WHEN age = 98 THEN 1 ELSE 0 END) FROM persons GROUP BY district;

-- case: case with two when branches
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age = 99 THEN income WHEN age = 98 THEN 0 ELSE 0 END) FROM persons GROUP BY district;

-- case: case with two when branches scaling
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age = 99 THEN income * 1000000 WHEN gender = 'F' THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: nested case
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age > 90 THEN CASE WHEN gender = 'F' THEN income ELSE 0 END ELSE 0 END) FROM persons GROUP BY district;

-- case: if per age twice
-- expect: deny conditional_aggregate
SELECT district, sum(if(age = 99, income, 0)), sum(if(age = 98, income, 0)) FROM persons GROUP BY district;

-- case: iif style if and case mixed
-- expect: deny conditional_aggregate
SELECT district, sum(if(age = 99, income, 0)), avg(CASE WHEN street = 'x' THEN income END) FROM persons GROUP BY district;

-- case: avg and stddev over two sub-cells
-- expect: deny conditional_aggregate
SELECT district, avg(CASE WHEN age = 99 THEN income END), stddev(CASE WHEN age = 98 THEN income END) FROM persons GROUP BY district;

-- case: one condition per street reconstructs a street
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN street = 's1' THEN income END), sum(CASE WHEN street = 's2' THEN income END), sum(CASE WHEN street = 's3' THEN income END) FROM persons GROUP BY district;

-- case: simple case form inside an aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CASE age WHEN 99 THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: case condition in having
-- expect: deny conditional_aggregate
SELECT district FROM persons GROUP BY district HAVING sum(CASE WHEN age = 99 THEN 1 ELSE 0 END) > 0;

-- case: case condition in order by
-- expect: deny conditional_aggregate
SELECT district, count(*) FROM persons GROUP BY district ORDER BY sum(CASE WHEN age = 99 THEN income ELSE 0 END);

-- case: case with limit
-- expect: deny conditional_aggregate
SELECT district, sum(CASE WHEN age = 99 THEN income ELSE 0 END) FROM persons GROUP BY district ORDER BY district LIMIT 5;

-- case: case computed in cte then summed
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, CASE WHEN age = 99 THEN income ELSE 0 END AS x FROM persons) SELECT district, sum(x) FROM t GROUP BY district;

-- case: case computed in derived table then averaged
-- expect: deny conditional_aggregate
SELECT d, avg(x) FROM (SELECT district AS d, CASE WHEN age = 99 THEN income END AS x FROM persons) s GROUP BY d;

-- case: comparison computed in cte then summed
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, (age = 99) AS flag FROM persons) SELECT district, count(*), sum(CAST(flag AS DOUBLE)) FROM t GROUP BY district;

-- case: case bucket counted as a value
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, CASE WHEN age = 99 THEN 1 END AS hit FROM persons) SELECT district, count(hit) FROM t GROUP BY district;

-- case: floor computed in cte then summed
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, floor(age / 99) AS x FROM persons) SELECT district, sum(x) FROM t GROUP BY district;

-- case: greatest computed in cte then summed
-- expect: deny conditional_aggregate
WITH t AS (SELECT district, greatest(age - 98, 0) AS x FROM persons) SELECT district, sum(x) FROM t GROUP BY district;

-- case: shaped column through two ctes
-- expect: deny conditional_aggregate
WITH a AS (SELECT district, CASE WHEN age = 99 THEN income END AS x FROM persons), b AS (SELECT district, x FROM a) SELECT district, avg(x) FROM b GROUP BY district;

-- case: shaped column through a union
-- expect: deny conditional_aggregate
WITH u AS (SELECT district, income AS x FROM persons UNION ALL SELECT district, CASE WHEN size = 9 THEN 1 END FROM households) SELECT district, sum(x) FROM u GROUP BY district;

-- case: multiplication by a boolean cast
-- expect: deny conditional_aggregate
SELECT district, sum(income * CAST(age = 99 AS INTEGER)) FROM persons GROUP BY district;

-- case: multiplication by a boolean shorthand cast
-- expect: deny conditional_aggregate
SELECT district, sum(income * (age = 99)::int) FROM persons GROUP BY district;

-- case: multiplication by another column
-- expect: deny conditional_aggregate
SELECT district, sum(income * age) FROM persons GROUP BY district;

-- case: multiplication by an expression of other columns
-- expect: deny conditional_aggregate
SELECT district, sum(income * (age - 98)) FROM persons GROUP BY district;

-- case: polynomial indicator of ages
-- expect: deny conditional_aggregate
SELECT district, sum(income * (age - 30) * (age - 31)) FROM persons GROUP BY district;

-- case: product of two aggregate columns via join-free self product
-- expect: deny conditional_aggregate
SELECT district, sum(income * income) FROM persons GROUP BY district;

-- case: boolean cast summed
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(age = 99 AS INTEGER)) FROM persons GROUP BY district;

-- case: boolean shorthand summed
-- expect: deny conditional_aggregate
SELECT district, sum((age = 99)::int) FROM persons GROUP BY district;

-- case: count of an or-null trick
-- expect: deny conditional_aggregate
SELECT district, count(age = 99 OR NULL) FROM persons GROUP BY district;

-- case: count of a comparison
-- expect: deny conditional_aggregate
SELECT district, count(age > 98) FROM persons GROUP BY district;

-- case: avg of a boolean
-- expect: deny conditional_aggregate
SELECT district, avg(CAST(gender = 'F' AS DOUBLE)) FROM persons GROUP BY district;

-- case: and inside aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(age > 90 AND gender = 'F' AS INTEGER)) FROM persons GROUP BY district;

-- case: not inside aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(NOT (age < 99) AS INTEGER)) FROM persons GROUP BY district;

-- case: like inside aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(street LIKE 's1%' AS INTEGER)) FROM persons GROUP BY district;

-- case: in list inside aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(age IN (98, 99) AS INTEGER)) FROM persons GROUP BY district;

-- case: greatest inside sum
-- expect: deny aggregate_argument
SELECT district, sum(greatest(age - 98, 0)) FROM persons GROUP BY district;

-- case: least inside sum
-- expect: deny aggregate_argument
SELECT district, sum(least(age, 1000)) FROM persons GROUP BY district;

-- case: floor inside sum
-- expect: deny aggregate_argument
SELECT district, sum(floor(age / 99)) FROM persons GROUP BY district;

-- case: ceil inside sum
-- expect: deny aggregate_argument
SELECT district, sum(ceil(income / 1000000)) FROM persons GROUP BY district;

-- case: round inside sum
-- expect: deny aggregate_argument
SELECT district, sum(round(income / 1000000)) FROM persons GROUP BY district;

-- case: nullif inside count
-- expect: deny aggregate_argument
SELECT district, count(nullif(age, 99)) FROM persons GROUP BY district;

-- case: modulo inside sum
-- expect: deny aggregate_argument
SELECT district, sum(age % 99) FROM persons GROUP BY district;

-- case: integer division inside sum
-- expect: deny aggregate_argument
SELECT district, sum(age // 99) FROM persons GROUP BY district;

-- case: narrowing cast to tinyint
-- expect: deny aggregate_argument
SELECT district, sum(CAST(income AS TINYINT)) FROM persons GROUP BY district;

-- case: narrowing cast to integer
-- expect: deny aggregate_argument
SELECT district, sum(CAST(income AS INTEGER)) FROM persons GROUP BY district;

-- case: narrowing cast to smallint
-- expect: deny aggregate_argument
SELECT district, sum(CAST(age AS SMALLINT)) FROM persons GROUP BY district;

-- case: cast of text to a number
-- expect: deny aggregate_argument
SELECT district, sum(CAST(street AS DOUBLE)) FROM persons GROUP BY district;

-- case: length of a group column summed
-- expect: deny aggregate_argument
SELECT district, sum(length(street)) FROM persons GROUP BY district;

-- case: date part of birth date summed
-- expect: deny aggregate_argument
SELECT district, sum(year(birth_date)) FROM persons GROUP BY district;

-- case: concat inside count
-- expect: deny aggregate_argument
SELECT district, count(concat(street, gender)) FROM persons GROUP BY district;

-- case: huge constant multiplier
-- expect: deny aggregate_argument
SELECT district, stddev(income * 1e200) FROM persons GROUP BY district;

-- case: huge constant added
-- expect: deny aggregate_argument
SELECT district, sum(income + 1e300) FROM persons GROUP BY district;

-- case: scale compounding
-- expect: deny aggregate_argument
SELECT district, sum(income * 1000000 * 1000000) FROM persons GROUP BY district;

-- case: tiny divisor
-- expect: deny aggregate_argument
SELECT district, sum(income / 0.0000000001) FROM persons GROUP BY district;

-- case: division of a group column by a column
-- expect: deny aggregate_argument
SELECT district, sum(income / (age + 1)) FROM persons GROUP BY district;

-- case: division by a column
-- expect: deny aggregate_argument
SELECT district, sum(income / age) FROM persons GROUP BY district;

-- case: abs of a difference
-- expect: deny conditional_aggregate
SELECT district, sum(abs(age - 98) - abs(age - 99)) FROM persons GROUP BY district;

-- case: coalesce with a column fallback
-- expect: deny conditional_aggregate
SELECT district, sum(coalesce(income, age)) FROM persons GROUP BY district;

-- case: relu via abs on income
-- expect: deny conditional_aggregate
SELECT district, sum(abs(income - 1000000) + income) FROM persons GROUP BY district;

-- case: boolean or in aggregate
-- expect: deny conditional_aggregate
SELECT district, sum(CAST(age = 99 OR age = 98 AS DOUBLE)) FROM persons GROUP BY district;

-- case: kurtosis is not on the allowlist
-- expect: deny unknown_function
SELECT district, kurtosis(income) FROM persons GROUP BY district;

-- case: bool_or is not on the allowlist
-- expect: deny unknown_function
SELECT district, bool_or(age = 99) FROM persons GROUP BY district;

-- case: max of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, max(income) FROM persons GROUP BY district;

-- case: min of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, min(income) FROM persons GROUP BY district;

-- case: arg_max of income by age
-- expect: deny revealing_aggregate
SELECT district, arg_max(income, age) FROM persons GROUP BY district;

-- case: first of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, first(income) FROM persons GROUP BY district;

-- case: any_value of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, any_value(income) FROM persons GROUP BY district;

-- case: mode of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, mode(income) FROM persons GROUP BY district;

-- case: median of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, median(income) FROM persons GROUP BY district;

-- case: quantile of income
-- expect: deny revealing_aggregate population.persons.income
SELECT district, quantile_cont(income, 0.99) FROM persons GROUP BY district;

-- case: max of age
-- expect: deny revealing_aggregate population.persons.age
SELECT district, max(age) FROM persons GROUP BY district;

-- case: min of street
-- expect: deny revealing_aggregate population.persons.street
SELECT district, min(street) FROM persons GROUP BY district;

-- case: string_agg of street
-- expect: deny revealing_aggregate population.persons.street
SELECT district, string_agg(street, ',') FROM persons GROUP BY district;

-- case: list of ages
-- expect: deny revealing_aggregate population.persons.age
SELECT district, list(age) FROM persons GROUP BY district;

-- case: max of birth date
-- expect: deny revealing_aggregate population.persons.birth_date
SELECT district, max(birth_date) FROM persons GROUP BY district;

-- case: product of incomes
-- expect: deny revealing_aggregate
SELECT district, product(income) FROM persons GROUP BY district;

-- case: having max of a name comparison
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district FROM persons GROUP BY district HAVING max(name = '张三');

-- case: having count distinct of a name
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district FROM persons GROUP BY district HAVING count(DISTINCT name) > 1;

-- case: having sum of a name case
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district FROM persons GROUP BY district HAVING sum(CASE WHEN name = '张三' THEN 1 ELSE 0 END) > 0;

-- case: filter on a name
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, count(*) FILTER (WHERE name = '张三') FROM persons GROUP BY district;

-- case: case on a name inside sum
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, sum(CASE WHEN name = '张三' THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: if on a name inside count
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, count(if(name = '张三', 1, NULL)) FROM persons GROUP BY district;

-- case: count distinct of a name
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, count(DISTINCT name) FROM persons GROUP BY district;

-- case: name in the output
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT name, count(*) FROM persons GROUP BY name;

-- case: name in order by
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, count(*) FROM persons WHERE name = '张三' GROUP BY district ORDER BY max(name);

-- case: name like in a filter clause
-- grant: compare
-- expect: deny compare_only population.persons.name
SELECT district, count(*) FILTER (WHERE name LIKE '张%') FROM persons GROUP BY district;

-- case: id card comparison inside having
-- grant: compare
-- expect: deny compare_only population.persons.id_card
SELECT district FROM persons GROUP BY district HAVING max(id_card = '500101199001011234');

-- case: filter on gender with both cells counted
-- expect: allow
SELECT district, avg(income) FILTER (WHERE gender = 'F') FROM persons GROUP BY district;

-- case: case with else zero on one condition
-- expect: allow
SELECT district, sum(CASE WHEN gender = 'F' THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: same condition reused in two aggregates
-- expect: allow
SELECT district, sum(CASE WHEN age >= 60 THEN income ELSE 0 END), count(*) FILTER (WHERE age >= 60) FROM persons GROUP BY district;

-- case: if on one condition
-- expect: allow
SELECT district, avg(if(age >= 18, income, NULL)) FROM persons GROUP BY district;

-- case: conditional count with complement
-- expect: allow
SELECT district, sum(CASE WHEN age >= 60 THEN 1 ELSE 0 END) AS seniors, sum(CASE WHEN age >= 60 THEN 0 ELSE 1 END) AS others FROM persons GROUP BY district;

-- case: avg and stddev over one filter
-- expect: allow
SELECT district, avg(income) FILTER (WHERE gender = 'M'), stddev(income) FILTER (WHERE gender = 'M') FROM persons GROUP BY district;

-- case: filter on joined month
-- expect: allow
SELECT p.district, sum(c.base_amount) FILTER (WHERE c.month = '2024-01') AS jan FROM persons p JOIN contributions c ON p.person_id = c.person_id GROUP BY p.district;

-- case: conditions in where stay free
-- expect: allow
SELECT district, avg(income) FROM persons WHERE age = 99 OR (gender = 'F' AND age > 30) GROUP BY district;

-- case: case buckets of group columns in group by
-- expect: allow
SELECT CASE WHEN age < 18 THEN 'minor' WHEN age < 60 THEN 'adult' ELSE 'senior' END AS band, gender, avg(income), stddev(income) FROM persons GROUP BY 1, 2;

-- case: bucket in a cte grouped outside
-- expect: allow
WITH t AS (SELECT CASE WHEN age >= 60 THEN 'senior' ELSE 'other' END AS band, income FROM persons) SELECT band, sum(income) FROM t GROUP BY band;

-- case: ratio of a filtered sum to the total
-- expect: allow
SELECT district, sum(income) FILTER (WHERE gender = 'F') / sum(income) AS share FROM persons GROUP BY district;

-- case: widening cast and scale inside sum
-- expect: allow
SELECT district, sum(CAST(income AS DOUBLE) * 0.01), avg(income / 12 + 100) FROM persons GROUP BY district;

-- case: abs and coalesce with constants inside sum
-- expect: allow
SELECT district, sum(abs(income)), sum(coalesce(income, 0) * 2) FROM persons GROUP BY district;

-- case: plain public columns may be ranked inside aggregates
-- expect: allow
SELECT industry, max(founded_date), min(name) FROM enterprises.enterprises GROUP BY industry;

-- case: compare-only name in where
-- grant: compare
-- expect: allow
SELECT district, count(*), avg(income) FROM persons WHERE name = '张三' GROUP BY district;

-- case: compare-only name in a join filter
-- grant: compare
-- expect: allow
SELECT p.district, count(*) FROM persons p JOIN households h ON p.person_id = h.person_id AND p.name <> '张三' GROUP BY p.district;
