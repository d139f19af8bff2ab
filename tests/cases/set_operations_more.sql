-- Issue 10, class 4: set operations (more variants). Each UNION branch carries its own unit counts.

-- case: intersect all
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district INTERSECT ALL SELECT district FROM households GROUP BY district;

-- case: except all
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district EXCEPT ALL SELECT district FROM households GROUP BY district;

-- case: intersect of counts
-- expect: deny set_operation
SELECT district, count(*) FROM persons GROUP BY district INTERSECT SELECT district, count(*) FROM households GROUP BY district;

-- case: except probing a one-person group
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district EXCEPT SELECT district FROM persons WHERE age = 99 GROUP BY district;

-- case: intersect in a cte
-- expect: deny set_operation
WITH t AS (SELECT district FROM persons GROUP BY district INTERSECT SELECT district FROM households GROUP BY district) SELECT district FROM t;

-- case: except in a derived table
-- expect: deny set_operation
SELECT count(*) FROM (SELECT district FROM persons EXCEPT SELECT district FROM households) s;

-- case: intersect of row-level branches
-- expect: deny set_operation
SELECT count(*) FROM (SELECT person_id FROM persons INTERSECT SELECT person_id FROM households) s;

-- case: except of person ids
-- expect: deny set_operation
SELECT count(*) FROM (SELECT person_id FROM persons EXCEPT SELECT person_id FROM contributions) s;

-- case: intersect in a union
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district UNION ALL (SELECT district FROM persons GROUP BY district INTERSECT SELECT district FROM households GROUP BY district);

-- case: except in an in-subquery
-- expect: deny set_operation
SELECT count(*) FROM persons WHERE person_id IN (SELECT person_id FROM persons EXCEPT SELECT person_id FROM households);

-- case: intersect row-level under row-level grant
-- grant: rowlevel
-- expect: deny set_operation
SELECT name FROM enterprises.enterprises INTERSECT SELECT name FROM enterprises.enterprises;

-- case: except of masked birth dates
-- grant: rowlevel
-- expect: deny set_operation
SELECT birth_date FROM persons EXCEPT SELECT birth_date FROM persons WHERE age > 30;

-- case: union mixing aggregated and row-level branches
-- grant: rowlevel
-- expect: deny mixed_aggregation
SELECT district FROM persons GROUP BY district UNION ALL SELECT district FROM households;

-- case: union all of three aggregates with conditions in where
-- expect: allow
SELECT 'old' AS g, avg(income) FROM persons WHERE age >= 60 UNION ALL SELECT 'young', avg(income) FROM persons WHERE age < 30 UNION ALL SELECT 'all', avg(income) FROM persons;

-- case: union distinct of grouped counts
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district UNION SELECT district, count(*) FROM households GROUP BY district;

-- case: union of grouped aggregates across datasets
-- expect: allow
SELECT month AS k, count(*) FROM contributions GROUP BY month UNION ALL SELECT district, count(*) FROM persons GROUP BY district;

-- case: union all with one conditional branch
-- expect: allow
SELECT district, sum(income) FILTER (WHERE gender = 'F') FROM persons GROUP BY district UNION ALL SELECT district, sum(income) FROM persons GROUP BY district;

-- case: union of base rows aggregated outside
-- expect: allow
WITH u AS (SELECT district, income FROM persons WHERE age > 60 UNION ALL SELECT district, income FROM persons WHERE age < 20) SELECT district, avg(income) FROM u GROUP BY district;

-- case: union of joined aggregates
-- expect: allow
SELECT p.district, sum(c.base_amount) FROM persons p JOIN contributions c ON p.person_id = c.person_id GROUP BY p.district UNION ALL SELECT district, sum(income) FROM persons GROUP BY district;
