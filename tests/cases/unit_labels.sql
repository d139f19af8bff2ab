-- Issue 10, class 5: columns that are functions of the privacy unit (an operator's social data keyed
-- by person_id): with public data, one label per query and only as a group key.

-- case: label in where with public data
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.district, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id WHERE c.segment = 'target' GROUP BY p.district;

-- case: label in a join condition
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.district, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id AND c.segment = 't' GROUP BY p.district;

-- case: label in a filter clause
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.district, sum(p.income) FILTER (WHERE c.segment = 'x') FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district;

-- case: label in a case condition
-- grant: social
-- expect: deny unit_label yushu_customers.customers.tier
SELECT p.district, sum(CASE WHEN c.tier = 'a' THEN p.income ELSE 0 END) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district;

-- case: label in having
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.district, count(*) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district, c.segment HAVING c.segment = 'x';

-- case: label counted distinct
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.district, count(DISTINCT c.segment) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district;

-- case: label in a semi join subquery
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT district, avg(income) FROM persons WHERE person_id IN (SELECT person_id FROM yushu_customers.customers WHERE segment = 'x') GROUP BY district;

-- case: label in an exists subquery
-- grant: social
-- expect: deny unit_label yushu_customers.customers.tier
SELECT p.district, avg(p.income) FROM persons p WHERE EXISTS (SELECT 1 FROM yushu_customers.customers c WHERE c.person_id = p.person_id AND c.tier = 'a') GROUP BY p.district;

-- case: label filtered in a cte joined to public data
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
WITH t AS (SELECT person_id FROM yushu_customers.customers WHERE segment = 'x') SELECT p.district, avg(p.income) FROM persons p JOIN t ON p.person_id = t.person_id GROUP BY p.district;

-- case: label like filter
-- grant: social
-- expect: deny unit_label yushu_customers.customers.segment
SELECT p.gender, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id WHERE c.segment LIKE 't%' GROUP BY p.gender;

-- case: label in list filter
-- grant: social
-- expect: deny unit_label yushu_customers.customers.tier
SELECT p.gender, count(*) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id WHERE c.tier IN ('a', 'b') GROUP BY p.gender;

-- case: label is null filter
-- grant: social
-- expect: deny unit_label yushu_customers.customers.tier
SELECT p.gender, count(*) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id WHERE c.tier IS NULL GROUP BY p.gender;

-- case: label with contributions
-- grant: social
-- expect: deny unit_label yushu_customers.customers.tier
SELECT c.segment, sum(k.base_amount) FROM contributions k JOIN yushu_customers.customers c ON k.person_id = c.person_id WHERE c.tier = 'a' GROUP BY c.segment;

-- case: two labels grouped
-- grant: social
-- expect: deny unit_label
SELECT c.segment, c.tier, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY c.segment, c.tier;

-- case: two labels in a union
-- grant: social
-- expect: deny unit_label
SELECT c.segment AS l, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY c.segment UNION ALL SELECT c.tier, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY c.tier;

-- case: two labels through a cte
-- grant: social
-- expect: deny unit_label
WITH t AS (SELECT c.segment, c.tier, p.income FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id) SELECT segment, tier, avg(income) FROM t GROUP BY segment, tier;

-- case: label bucketed twice
-- grant: social
-- expect: deny unit_label
SELECT c.segment, c.tier, count(*) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY 1, 2;

-- case: one label as a group key with public data
-- grant: social
-- expect: allow
SELECT p.district, c.segment, count(*) AS n, avg(c.spend) AS avg_spend FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district, c.segment;

-- case: one label with public filters
-- grant: social
-- expect: allow
SELECT c.segment, avg(p.income) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id WHERE p.age > 30 AND p.district = '渝中区' GROUP BY c.segment ORDER BY c.segment;

-- case: own data alone may be filtered
-- grant: social
-- expect: allow
SELECT segment, avg(spend) FROM yushu_customers.customers WHERE tier = 'a' GROUP BY segment;

-- case: own data alone two labels
-- grant: social
-- expect: allow
SELECT segment, tier, count(*) FROM yushu_customers.customers GROUP BY segment, tier;

-- case: own spend by public district
-- grant: social
-- expect: allow
SELECT p.district, avg(c.spend) FROM persons p JOIN yushu_customers.customers c ON p.person_id = c.person_id GROUP BY p.district;
