-- Issue 10, class 2: ranking inside subqueries (LIMIT/OFFSET, window functions, QUALIFY, sampling).

-- case: limit 11 in a derived table
-- expect: deny ranking_subquery
SELECT avg(income) FROM (SELECT income FROM persons ORDER BY age LIMIT 11) s;

-- case: limit 10 offset 1 in a derived table
-- expect: deny ranking_subquery
SELECT avg(income) FROM (SELECT income FROM persons ORDER BY age LIMIT 10 OFFSET 1) s;

-- case: offset only in a derived table
-- expect: deny ranking_subquery
SELECT sum(income) FROM (SELECT income FROM persons ORDER BY age OFFSET 1) s;

-- case: limit in a cte
-- expect: deny ranking_subquery
WITH t AS (SELECT income FROM persons ORDER BY age DESC LIMIT 11) SELECT sum(income) FROM t;

-- case: limit in a cte grouped outside
-- expect: deny ranking_subquery
WITH t AS (SELECT district, income FROM persons ORDER BY age DESC LIMIT 50) SELECT district, avg(income) FROM t GROUP BY district;

-- case: limit without order in a cte
-- expect: deny ranking_subquery
WITH t AS (SELECT income FROM persons LIMIT 10) SELECT sum(income) FROM t;

-- case: limit in an in-subquery
-- expect: deny ranking_subquery
SELECT count(*) FROM persons WHERE person_id IN (SELECT person_id FROM households ORDER BY size DESC LIMIT 1);

-- case: limit in an exists subquery
-- expect: deny ranking_subquery
SELECT count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.person_id = p.person_id ORDER BY h.size LIMIT 1);

-- case: limit in a nested derived table
-- expect: deny ranking_subquery
SELECT count(*) FROM (SELECT district FROM (SELECT district, age FROM persons ORDER BY age LIMIT 11) a) b;

-- case: limit on an aggregated cte
-- expect: deny ranking_subquery
WITH t AS (SELECT district, count(*) AS n FROM persons GROUP BY district ORDER BY n LIMIT 1) SELECT district, n FROM t;

-- case: limit inside a union branch in a cte
-- expect: deny ranking_subquery
WITH u AS (SELECT income FROM persons UNION ALL (SELECT income FROM persons ORDER BY age LIMIT 1)) SELECT sum(income) FROM u;

-- case: limit on a joined derived table
-- expect: deny ranking_subquery
SELECT s.district, sum(c.base_amount) FROM (SELECT person_id, district FROM persons ORDER BY age LIMIT 11) s JOIN contributions c ON s.person_id = c.person_id GROUP BY s.district;

-- case: two ctes differing by one row
-- expect: deny ranking_subquery
WITH a AS (SELECT income FROM persons ORDER BY age LIMIT 11), b AS (SELECT income FROM persons ORDER BY age LIMIT 10) SELECT sum(income) FROM a;

-- case: limit via a large offset
-- expect: deny ranking_subquery
SELECT avg(income) FROM (SELECT income FROM persons ORDER BY age OFFSET 999) s;

-- case: limit ranked by group key ties
-- expect: deny ranking_subquery
SELECT avg(income) FROM (SELECT income FROM persons ORDER BY street, district LIMIT 11) s;

-- case: order by aggregate-only in a limited subquery
-- expect: deny aggregate_only population.persons.income
SELECT count(*) FROM (SELECT district FROM persons ORDER BY income DESC LIMIT 1) s;

-- case: row_number in a cte
-- expect: deny window_function
WITH t AS (SELECT income, row_number() OVER (ORDER BY age) AS r FROM persons) SELECT sum(income) FROM t WHERE r <= 11;

-- case: rank in a derived table
-- expect: deny window_function
SELECT avg(income) FROM (SELECT income, rank() OVER (ORDER BY age) AS r FROM persons) s WHERE r = 1;

-- case: dense_rank partitioned
-- expect: deny window_function
SELECT count(*) FROM (SELECT dense_rank() OVER (PARTITION BY district ORDER BY age) AS r FROM persons) s WHERE r = 1;

-- case: lag over ages
-- expect: deny window_function
SELECT count(*) FROM (SELECT age - lag(age) OVER (ORDER BY age) AS d FROM persons) s;

-- case: running sum window
-- expect: deny window_function
SELECT district, sum(income) OVER (PARTITION BY district ORDER BY age) FROM persons;

-- case: ntile buckets
-- expect: deny window_function
WITH t AS (SELECT income, ntile(100) OVER (ORDER BY age) AS b FROM persons) SELECT b, avg(income) FROM t GROUP BY b;

-- case: percent_rank filter
-- expect: deny window_function
SELECT count(*) FROM (SELECT percent_rank() OVER (ORDER BY age) AS p FROM persons) s WHERE p > 0.99;

-- case: first_value window
-- expect: deny window_function
SELECT count(*) FROM (SELECT first_value(age) OVER (PARTITION BY district ORDER BY age) AS f FROM persons) s;

-- case: window over an aggregate at the top
-- expect: deny window_function
SELECT district, count(*), rank() OVER (ORDER BY count(*)) FROM persons GROUP BY district;

-- case: count over a window
-- expect: deny window_function
SELECT district, count(*) OVER () FROM persons;

-- case: qualify at the top
-- expect: deny qualify
SELECT district, count(*) FROM persons GROUP BY district QUALIFY row_number() OVER (ORDER BY count(*)) = 1;

-- case: qualify in a cte
-- expect: deny qualify
WITH t AS (SELECT district, income FROM persons QUALIFY row_number() OVER (PARTITION BY district ORDER BY age) <= 11) SELECT district, sum(income) FROM t GROUP BY district;

-- case: using sample at the top
-- expect: deny sample
SELECT avg(income) FROM persons USING SAMPLE 10;

-- case: using sample percent
-- expect: deny sample
SELECT district, avg(income) FROM persons GROUP BY district USING SAMPLE 50%;

-- case: tablesample on a table
-- expect: deny sample
SELECT avg(income) FROM persons TABLESAMPLE 10%;

-- case: tablesample with a seed
-- expect: deny sample
SELECT avg(income) FROM persons TABLESAMPLE reservoir(11 ROWS) REPEATABLE (42);

-- case: sample in a cte
-- expect: deny sample
WITH t AS (SELECT income FROM persons USING SAMPLE 11) SELECT sum(income) FROM t;

-- case: fetch first in a subquery
-- expect: deny unsupported_syntax
SELECT avg(income) FROM (SELECT income FROM persons ORDER BY age FETCH FIRST 11 ROWS ONLY) s;

-- case: distinct on picks one row per key
-- expect: deny unsupported_syntax
SELECT count(*) FROM (SELECT DISTINCT ON (district) district, age FROM persons ORDER BY district, age) s;

-- case: arg_max picks one person
-- expect: deny revealing_aggregate
SELECT district, arg_max(street, age) FROM persons GROUP BY district;

-- case: top districts by average
-- expect: allow
SELECT district, avg(income) AS a FROM persons GROUP BY district ORDER BY a DESC LIMIT 3;

-- case: top streets offset
-- expect: allow
SELECT street, count(*) AS n FROM persons GROUP BY street ORDER BY n DESC LIMIT 5 OFFSET 5;

-- case: order in a subquery without limit
-- expect: allow
SELECT count(*) FROM (SELECT district FROM persons ORDER BY age) s;

-- case: limit on a union of aggregates
-- expect: allow
SELECT district, count(*) AS n FROM persons GROUP BY district UNION ALL SELECT district, count(*) FROM households GROUP BY district ORDER BY n DESC LIMIT 4;
