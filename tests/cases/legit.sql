-- case: district averages are allowed
-- expect: allow
SELECT district, count(*), avg(income) FROM persons GROUP BY district;

-- case: qualified table name
-- expect: allow
SELECT district, count(*) FROM population.persons GROUP BY district;

-- case: total count
-- expect: allow
SELECT count(*) FROM persons;

-- case: count distinct privacy unit
-- expect: allow
SELECT district, count(DISTINCT person_id) FROM persons GROUP BY district;

-- case: sum and avg of income
-- expect: allow
SELECT sum(income), avg(income) FROM persons;

-- case: stddev and variance
-- expect: allow
SELECT district, stddev(income), variance(income) FROM persons GROUP BY district;

-- case: stddev_pop and var_samp
-- expect: allow
SELECT gender, stddev_pop(income), var_samp(income) FROM persons GROUP BY gender;

-- case: filter by district and age range
-- expect: allow
SELECT district, count(*), avg(income) FROM persons WHERE district = '渝中区' AND age BETWEEN 20 AND 30 GROUP BY district;

-- case: having count threshold
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district HAVING count(*) > 20;

-- case: order by and limit
-- expect: allow
SELECT district, avg(income) AS avg_income FROM persons GROUP BY district ORDER BY avg_income DESC LIMIT 5;

-- case: order by aggregate expression
-- expect: allow
SELECT street, count(*) FROM persons GROUP BY street ORDER BY count(*) DESC LIMIT 10;

-- case: group by two keys
-- expect: allow
SELECT district, gender, count(*), avg(income) FROM persons GROUP BY district, gender;

-- case: group by ordinal
-- expect: allow
SELECT district, gender, count(*) FROM persons GROUP BY 1, 2;

-- case: case buckets over age
-- expect: allow
SELECT CASE WHEN age < 18 THEN 'minor' WHEN age < 60 THEN 'adult' ELSE 'senior' END AS band, count(*) FROM persons GROUP BY band;

-- case: case buckets with avg income
-- expect: allow
SELECT CASE WHEN age < 30 THEN '<30' ELSE '30+' END AS band, avg(income) FROM persons GROUP BY 1;

-- case: year of masked birth date
-- expect: allow
SELECT year(birth_date) AS y, count(*) FROM persons GROUP BY y;

-- case: date_trunc over birth date
-- expect: allow
SELECT date_trunc('year', birth_date) AS y, count(*) FROM persons GROUP BY 1 ORDER BY 1;

-- case: extract over birth date
-- expect: allow
SELECT extract(year FROM birth_date) AS y, avg(income) FROM persons GROUP BY 1;

-- case: date_part over birth date
-- expect: allow
SELECT date_part('year', birth_date) AS y, count(*) FROM persons GROUP BY 1;

-- case: strftime over birth date
-- expect: allow
SELECT strftime(birth_date, '%Y') AS y, count(*) FROM persons GROUP BY 1;

-- case: birth date filter
-- expect: allow
SELECT district, count(*) FROM persons WHERE birth_date >= DATE '1990-01-01' GROUP BY district;

-- case: persons join contributions
-- expect: allow
SELECT p.district, sum(c.base_amount) AS total FROM persons p JOIN social_insurance.contributions c ON p.person_id = c.person_id GROUP BY p.district;

-- case: persons join contributions unqualified
-- expect: allow
SELECT p.district, avg(c.base_amount) FROM persons p JOIN contributions c ON c.person_id = p.person_id GROUP BY p.district;

-- case: persons join households
-- expect: allow
SELECT h.size, avg(p.income) FROM persons p JOIN households h ON p.person_id = h.person_id GROUP BY h.size;

-- case: persons left join households
-- expect: allow
SELECT p.district, count(h.person_id) FROM persons p LEFT JOIN households h ON p.person_id = h.person_id GROUP BY p.district;

-- case: enterprises join contributions on uscc
-- expect: allow
SELECT e.industry, count(DISTINCT c.person_id) AS workers, avg(c.base_amount) FROM enterprises.enterprises e JOIN contributions c ON e.uscc = c.employer_uscc GROUP BY e.industry;

-- case: three-way join
-- expect: allow
SELECT e.district, avg(p.income) FROM persons p JOIN contributions c ON p.person_id = c.person_id JOIN enterprises.enterprises e ON c.employer_uscc = e.uscc GROUP BY e.district;

-- case: comma join with where equality
-- expect: allow
SELECT p.district, count(*) FROM persons p, households h WHERE p.person_id = h.person_id GROUP BY p.district;

-- case: join with extra filter in on
-- expect: allow
SELECT p.district, count(*) FROM persons p JOIN contributions c ON p.person_id = c.person_id AND c.month = '2024-01' GROUP BY p.district;

-- case: join with filters in where
-- expect: allow
SELECT c.month, sum(c.base_amount) FROM persons p JOIN contributions c ON p.person_id = c.person_id WHERE p.age > 30 AND p.district = '江北区' GROUP BY c.month;

-- case: cte filtering base rows
-- expect: allow
WITH adults AS (SELECT district, income FROM persons WHERE age >= 18) SELECT district, avg(income) FROM adults GROUP BY district;

-- case: cte with join key then join
-- expect: allow
WITH young AS (SELECT person_id, district FROM persons WHERE age < 30) SELECT y.district, sum(c.base_amount) FROM young y JOIN contributions c ON y.person_id = c.person_id GROUP BY y.district;

-- case: aggregated cte projected
-- expect: allow
WITH t AS (SELECT district, avg(income) a FROM persons GROUP BY district) SELECT district, a FROM t;

-- case: aggregated cte filtered
-- expect: allow
WITH t AS (SELECT district, avg(income) AS a, count(*) AS n FROM persons GROUP BY district) SELECT district, a FROM t WHERE n > 100 ORDER BY a DESC;

-- case: derived table aggregation
-- expect: allow
SELECT district, count(*) FROM (SELECT district FROM persons WHERE gender = 'F') s GROUP BY district;

-- case: derived table with expression
-- expect: allow
SELECT band, count(*) FROM (SELECT CASE WHEN age < 40 THEN 'young' ELSE 'old' END AS band FROM persons) s GROUP BY band;

-- case: cte arithmetic on income then sum
-- expect: allow
WITH t AS (SELECT district, income / 12 AS monthly FROM persons) SELECT district, avg(monthly) FROM t GROUP BY district;

-- case: two ctes
-- expect: allow
WITH a AS (SELECT district, income FROM persons WHERE age > 20), b AS (SELECT district, income FROM a WHERE district <> '渝中区') SELECT district, sum(income) FROM b GROUP BY district;

-- case: union all of aggregates
-- expect: allow
SELECT 'persons' AS src, count(*) FROM persons UNION ALL SELECT 'households', count(*) FROM households;

-- case: union all of grouped aggregates
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district UNION ALL SELECT district, count(*) FROM households GROUP BY district;

-- case: union of grouped aggregates
-- expect: allow
SELECT district FROM persons GROUP BY district UNION SELECT district FROM households GROUP BY district;

-- case: semi join on households with a size filter
-- expect: allow
SELECT district, count(*) FROM persons WHERE person_id IN (SELECT person_id FROM households WHERE size > 3) GROUP BY district;

-- case: semi join on person_id
-- expect: allow
SELECT district, count(*) FROM persons WHERE person_id IN (SELECT person_id FROM contributions WHERE month = '2024-01') GROUP BY district;

-- case: exists correlated on join key
-- expect: allow
SELECT p.district, count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.person_id = p.person_id AND h.size > 2) GROUP BY p.district;

-- case: not exists correlated
-- expect: allow
SELECT p.district, count(*) FROM persons p WHERE NOT EXISTS (SELECT 1 FROM contributions c WHERE c.person_id = p.person_id) GROUP BY p.district;

-- case: in list on group column
-- expect: allow
SELECT district, count(*) FROM persons WHERE district IN ('渝中区', '江北区', '南岸区') GROUP BY district;

-- case: like on group column
-- expect: allow
SELECT street, count(*) FROM persons WHERE street LIKE '解放碑%' GROUP BY street;

-- case: is null filter
-- expect: allow
SELECT district, count(*) FROM persons WHERE street IS NULL GROUP BY district;

-- case: not null filter
-- expect: allow
SELECT count(*) FROM persons WHERE district IS NOT NULL;

-- case: or filters on group columns
-- expect: allow
SELECT gender, count(*) FROM persons WHERE age < 18 OR age > 65 GROUP BY gender;

-- case: round of average
-- expect: allow
SELECT district, round(avg(income), 2) FROM persons GROUP BY district;

-- case: ratio of aggregates
-- expect: allow
SELECT district, sum(income) / count(*) AS per_capita FROM persons GROUP BY district;

-- case: coalesce on group column
-- expect: allow
SELECT coalesce(street, 'unknown') AS s, count(*) FROM persons GROUP BY 1;

-- case: lower on group column
-- expect: allow
SELECT lower(gender) AS g, count(*) FROM persons GROUP BY 1;

-- case: upper on group column
-- expect: allow
SELECT upper(district), count(*) FROM persons GROUP BY 1;

-- case: substring of a group column
-- expect: allow
SELECT substr(street, 1, 2) AS s, count(*) FROM persons GROUP BY 1;

-- case: concat of group columns
-- expect: allow
SELECT concat(district, '-', gender) AS k, count(*) FROM persons GROUP BY 1;

-- case: age arithmetic bucket
-- expect: allow
SELECT (age // 10) * 10 AS decade, count(*) FROM persons GROUP BY 1 ORDER BY 1;

-- case: least greatest on age
-- expect: allow
SELECT least(age, 80) AS capped, count(*) FROM persons GROUP BY 1;

-- case: abs of income inside sum
-- expect: allow
SELECT district, sum(abs(income)) FROM persons GROUP BY district;

-- case: conditional sum by group column
-- expect: allow
SELECT district, sum(CASE WHEN gender = 'F' THEN income ELSE 0 END) AS f_income FROM persons GROUP BY district;

-- case: count filter on group column
-- expect: allow
SELECT district, count(*) FILTER (WHERE age >= 60) AS seniors FROM persons GROUP BY district;

-- case: avg filter on group column
-- expect: allow
SELECT district, avg(income) FILTER (WHERE gender = 'M') FROM persons GROUP BY district;

-- case: cast of aggregate
-- expect: allow
SELECT district, CAST(avg(income) AS BIGINT) FROM persons GROUP BY district;

-- case: cast of income to double inside sum
-- expect: allow
SELECT sum(CAST(income AS DOUBLE)) FROM persons;

-- case: min max of aggregate outputs is not used: min of age bucket label
-- expect: allow
SELECT gender, count(DISTINCT district) FROM persons GROUP BY gender;

-- case: count distinct group column
-- expect: allow
SELECT count(DISTINCT street) FROM persons;

-- case: households by size
-- expect: allow
SELECT size, count(*) FROM households GROUP BY size ORDER BY size;

-- case: households filtered
-- expect: allow
SELECT district, avg(size) FROM households WHERE size > 1 GROUP BY district;

-- case: contributions by month
-- expect: allow
SELECT month, sum(base_amount), count(DISTINCT person_id) FROM contributions GROUP BY month ORDER BY month;

-- case: contributions by month filtered
-- expect: allow
SELECT month, avg(base_amount) FROM social_insurance.contributions WHERE month BETWEEN '2024-01' AND '2024-06' GROUP BY month;

-- case: count distinct employers
-- expect: allow
SELECT month, count(DISTINCT employer_uscc) FROM contributions GROUP BY month;

-- case: enterprises by industry
-- expect: allow
SELECT industry, count(*), avg(registered_capital), sum(employees) FROM enterprises.enterprises GROUP BY industry;

-- case: enterprises by district
-- expect: allow
SELECT district, count(*) FROM enterprises.enterprises WHERE industry = '制造业' GROUP BY district;

-- case: enterprise plain name grouped
-- expect: allow
SELECT name, count(*) FROM enterprises.enterprises GROUP BY name;

-- case: enterprise founded year
-- expect: allow
SELECT year(founded_date) AS y, count(*) FROM enterprises.enterprises GROUP BY 1;

-- case: enterprises max of plain founded date
-- expect: allow
SELECT industry, max(founded_date) FROM enterprises.enterprises GROUP BY industry;

-- case: enterprises unqualified table
-- expect: allow
SELECT industry, count(*) FROM enterprises GROUP BY industry;

-- case: mixed case keywords and identifiers
-- expect: allow
select DISTRICT, COUNT(*) from PERSONS group by DISTRICT;

-- case: quoted identifiers
-- expect: allow
SELECT "district", count(*) FROM "population"."persons" GROUP BY "district";

-- case: comments are dropped
-- expect: allow
SELECT district /* the key */, count(*) -- how many
FROM persons GROUP BY district;

-- case: having on average
-- expect: allow
SELECT district, avg(income) FROM persons GROUP BY district HAVING avg(income) > 5000 AND count(*) >= 10;

-- case: having on group key
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district HAVING district <> '渝中区';

-- case: not between
-- expect: allow
SELECT count(*) FROM persons WHERE age NOT BETWEEN 20 AND 30;

-- case: not in list
-- expect: allow
SELECT district, count(*) FROM persons WHERE district NOT IN ('渝中区') GROUP BY district;

-- case: order by multiple
-- expect: allow
SELECT district, gender, count(*) AS n FROM persons GROUP BY district, gender ORDER BY district, n DESC;

-- case: limit offset
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district ORDER BY district LIMIT 10 OFFSET 5;

-- case: if function bucket
-- expect: allow
SELECT if(age >= 18, 'adult', 'minor') AS a, count(*) FROM persons GROUP BY 1;

-- case: nullif on group column
-- expect: allow
SELECT nullif(street, '') AS s, count(*) FROM persons GROUP BY 1;

-- case: income share per district
-- expect: allow
SELECT district, sum(income) * 100.0 / 12345 AS share FROM persons GROUP BY district;

-- case: avg age
-- expect: allow
SELECT district, avg(age) FROM persons GROUP BY district;

-- case: sum of household sizes joined
-- expect: allow
SELECT p.gender, sum(h.size) FROM persons p JOIN households h ON h.person_id = p.person_id GROUP BY p.gender;

-- case: full outer join
-- expect: allow
SELECT count(*) FROM persons p FULL OUTER JOIN households h ON p.person_id = h.person_id;

-- case: right join
-- expect: allow
SELECT h.district, count(*) FROM persons p RIGHT JOIN households h ON p.person_id = h.person_id GROUP BY h.district;

-- case: subquery in from with join key and outer join
-- expect: allow
SELECT s.district, sum(c.base_amount) FROM (SELECT person_id, district FROM persons WHERE gender = 'F') s JOIN contributions c ON s.person_id = c.person_id GROUP BY s.district;

-- case: cte union of base rows then aggregate
-- expect: allow
WITH d AS (SELECT district FROM persons UNION ALL SELECT district FROM households) SELECT district, count(*) FROM d GROUP BY district;

-- case: interval arithmetic on date
-- expect: allow
SELECT count(*) FROM persons WHERE birth_date > DATE '2000-01-01' - INTERVAL 1 YEAR;

-- case: quarter of birth date
-- expect: allow
SELECT quarter(birth_date), count(*) FROM persons GROUP BY 1;

-- case: month of contribution month text
-- expect: allow
SELECT month, count(*) FROM contributions WHERE month LIKE '2024-%' GROUP BY month;

-- case: nested case
-- expect: allow
SELECT CASE WHEN gender = 'F' THEN CASE WHEN age < 30 THEN 'F<30' ELSE 'F30+' END ELSE 'M' END AS g, count(*) FROM persons GROUP BY 1;

-- case: count of join key
-- expect: allow
SELECT district, count(person_id) FROM persons GROUP BY district;

-- case: in list of group values on households
-- expect: allow
SELECT size, count(*) FROM households WHERE size IN (1, 2, 3) GROUP BY size;

-- case: boolean and null literals
-- expect: allow
SELECT count(*) FROM persons WHERE (street IS NULL) = false;

-- case: from-first syntax
-- expect: allow
FROM persons SELECT district, count(*) GROUP BY district;

-- case: parenthesised query
-- expect: allow
(SELECT district, count(*) FROM persons GROUP BY district);

-- case: trailing semicolon and whitespace
-- expect: allow
  SELECT count(*) FROM persons ;  

-- case: join plus semi join filter
-- expect: allow
SELECT p.district, avg(c.base_amount) FROM persons p JOIN contributions c ON p.person_id = c.person_id WHERE p.person_id IN (SELECT person_id FROM households WHERE size >= 4) GROUP BY p.district;

-- case: aggregated cte joined to nothing, ordered
-- expect: allow
WITH m AS (SELECT month, sum(base_amount) AS total FROM contributions GROUP BY month) SELECT month, total FROM m ORDER BY month;

-- case: derived aggregated table
-- expect: allow
SELECT s.district, s.n FROM (SELECT district, count(*) AS n FROM persons GROUP BY district) s WHERE s.n > 50;

-- case: greatest of aggregates
-- expect: allow
SELECT district, greatest(avg(income), 0) FROM persons GROUP BY district;

-- case: trim on group column
-- expect: allow
SELECT trim(street) AS s, count(*) FROM persons GROUP BY 1;

-- case: length of group column
-- expect: allow
SELECT length(street) AS l, count(*) FROM persons GROUP BY 1;

-- case: floor and ceil
-- expect: allow
SELECT floor(age / 5) AS b, ceil(avg(income)) FROM persons GROUP BY 1;

-- case: count star with filter on masked column
-- expect: allow
SELECT count(*) FROM persons WHERE year(birth_date) = 1990;

-- case: employees sum
-- expect: allow
SELECT district, sum(employees) AS staff FROM enterprises.enterprises GROUP BY district HAVING sum(employees) > 100;

-- case: capital per employee
-- expect: allow
SELECT industry, sum(registered_capital) / sum(employees) FROM enterprises.enterprises GROUP BY industry;

-- case: approx count distinct
-- expect: allow
SELECT district, approx_count_distinct(person_id) FROM persons GROUP BY district;

-- case: count distinct income
-- expect: allow
SELECT district, count(DISTINCT income) FROM persons GROUP BY district;

-- case: try_cast of group column
-- expect: allow
SELECT try_cast(age AS VARCHAR) AS a, count(*) FROM persons GROUP BY 1;

-- case: age cast to double in avg
-- expect: allow
SELECT district, avg(CAST(age AS DOUBLE)) FROM persons GROUP BY district;

-- case: row-level plain enterprise names
-- grant: rowlevel
-- expect: allow
SELECT name FROM enterprises.enterprises;

-- case: row-level masked birth date
-- grant: rowlevel
-- expect: allow
SELECT birth_date FROM persons LIMIT 20;

-- case: row-level plain names with filter
-- grant: rowlevel
-- expect: allow
SELECT name, founded_date FROM enterprises.enterprises WHERE industry = '制造业' ORDER BY founded_date;

-- case: row-level with large limit capped
-- grant: rowlevel
-- expect: allow
SELECT name FROM enterprises.enterprises LIMIT 100000;

-- case: row-level masked in cte
-- grant: rowlevel
-- expect: allow
WITH t AS (SELECT birth_date FROM persons WHERE age > 30) SELECT birth_date FROM t;

-- case: row-level expression on plain
-- grant: rowlevel
-- expect: allow
SELECT upper(name) AS n FROM enterprises.enterprises WHERE district = '渝北区';

-- case: aggregate under row-level grant
-- grant: rowlevel
-- expect: allow
SELECT district, count(*) FROM persons GROUP BY district;

-- case: row-level distinct plain
-- grant: rowlevel
-- expect: allow
SELECT DISTINCT name FROM enterprises.enterprises;

-- case: aggregate join under row-level grant
-- grant: rowlevel
-- expect: allow
SELECT c.month, count(*) FROM persons p JOIN contributions c ON p.person_id = c.person_id GROUP BY c.month;

-- case: qualified enterprises join
-- expect: allow
SELECT e.industry, count(*) FROM enterprises.enterprises AS e INNER JOIN social_insurance.contributions AS c ON c.employer_uscc = e.uscc WHERE c.month = '2024-03' GROUP BY e.industry ORDER BY 2 DESC;

-- case: households join contributions
-- expect: allow
SELECT h.size, sum(c.base_amount) FROM households h JOIN contributions c ON h.person_id = c.person_id GROUP BY h.size;

-- case: join in cte then aggregate
-- expect: allow
WITH pc AS (SELECT p.district, c.base_amount FROM persons p JOIN contributions c ON p.person_id = c.person_id) SELECT district, avg(base_amount) FROM pc GROUP BY district;

-- case: unaliased aggregates
-- expect: allow
SELECT count(*), sum(income), avg(income), count(DISTINCT district) FROM persons WHERE gender = 'F';

-- case: chinese string literal filter
-- expect: allow
SELECT gender, count(*) FROM persons WHERE district = '沙坪坝区' AND street LIKE '%街道' GROUP BY gender;

-- case: ilike on group column
-- expect: allow
SELECT count(*) FROM persons WHERE gender ILIKE 'f%';

-- case: modulo on group column
-- expect: allow
SELECT age % 2 AS parity, count(*) FROM persons GROUP BY 1;

-- case: negation of aggregate
-- expect: allow
SELECT district, -sum(income) FROM persons GROUP BY district;

-- case: order by alias of aggregate
-- expect: allow
SELECT district, count(*) AS n FROM persons GROUP BY district ORDER BY n;

-- case: group by alias of bucket
-- expect: allow
SELECT CASE WHEN size > 3 THEN 'big' ELSE 'small' END AS kind, count(*) AS n FROM households GROUP BY kind ORDER BY n DESC;

-- case: exists correlated with a size filter, counted
-- expect: allow
SELECT count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.person_id = p.person_id AND h.size > 5);

-- case: derived table two levels
-- expect: allow
SELECT district, count(*) FROM (SELECT district, age FROM (SELECT district, age FROM persons WHERE age > 10) a WHERE age < 90) b GROUP BY district;

-- case: cte referenced in a join on person_id
-- expect: allow
WITH f AS (SELECT person_id, age FROM persons WHERE gender = 'F') SELECT h.size, avg(f.age) FROM f JOIN households h ON f.person_id = h.person_id GROUP BY h.size;

-- case: sum of income by year of birth
-- expect: allow
SELECT year(birth_date) AS y, sum(income) FROM persons WHERE age >= 18 GROUP BY 1 HAVING count(*) > 10 ORDER BY 1;

-- case: avg income in filter clause with group column
-- expect: allow
SELECT count(*) FILTER (WHERE district = '渝中区'), avg(income) FROM persons;

-- case: concat pipe of group columns
-- expect: allow
SELECT district || '/' || street AS place, count(*) FROM persons GROUP BY 1;

-- case: timestamp trunc on masked
-- expect: allow
SELECT date_trunc('month', birth_date) AS m, count(*) FROM persons GROUP BY 1;

-- case: union all three branches
-- expect: allow
SELECT 'p', count(*) FROM persons UNION ALL SELECT 'h', count(*) FROM households UNION ALL SELECT 'c', count(*) FROM contributions;

-- case: coalesce inside sum
-- expect: allow
SELECT district, sum(coalesce(income, 0)) FROM persons GROUP BY district;

-- case: round of division
-- expect: allow
SELECT district, round(sum(income) / count(DISTINCT person_id), 1) FROM persons GROUP BY district;


-- case: monthly contributions of members of larger households (semi join across datasets)
-- expect: allow
SELECT c.month, sum(c.base_amount) AS total FROM contributions c WHERE c.person_id IN (SELECT person_id FROM households WHERE size >= 3) GROUP BY c.month;

-- case: enterprises that pay contributions, by industry (semi join on the enterprise key)
-- expect: allow
SELECT industry, count(*) AS firms FROM enterprises.enterprises WHERE uscc IN (SELECT employer_uscc FROM contributions) GROUP BY industry;

-- case: large households' members by gender
-- expect: allow
SELECT p.gender, count(*) AS n, avg(p.income) AS avg_income FROM persons p WHERE EXISTS (SELECT 1 FROM households h WHERE h.person_id = p.person_id AND h.size >= 5) GROUP BY p.gender;
