-- case: substr of a denied column
-- expect: deny deny_column population.persons.id_card
SELECT substr(id_card, 1, 6) AS region, count(*) FROM persons GROUP BY region;

-- case: left of a denied column
-- expect: deny deny_column population.persons.name
SELECT left(name, 1) AS surname, count(*) FROM persons GROUP BY surname;

-- case: right of a denied column
-- expect: deny deny_column population.persons.phone
SELECT right(phone, 4), count(*) FROM persons GROUP BY 1;

-- case: cast of a join key
-- expect: deny join_rule population.persons.person_id
SELECT CAST(person_id AS VARCHAR) AS p, count(*) FROM persons GROUP BY p;

-- case: hash of a denied column
-- expect: deny unknown_function
SELECT hash(name), count(*) FROM persons GROUP BY 1;

-- case: md5 of a denied column
-- expect: deny unknown_function
SELECT md5(id_card), count(*) FROM persons GROUP BY 1;

-- case: translate on a denied column
-- expect: deny unknown_function
SELECT translate(phone, '0123456789', 'abcdefghij'), count(*) FROM persons GROUP BY 1;

-- case: replace on a denied column
-- expect: deny unknown_function
SELECT replace(name, 'a', 'b'), count(*) FROM persons GROUP BY 1;

-- case: base64 of a denied column
-- expect: deny unknown_function
SELECT to_base64(CAST(name AS BLOB)), count(*) FROM persons GROUP BY 1;

-- case: reverse of a denied column
-- expect: deny unknown_function
SELECT reverse(id_card), count(*) FROM persons GROUP BY 1;

-- case: concat with a denied column
-- expect: deny deny_column population.persons.name
SELECT concat(district, name), count(*) FROM persons GROUP BY 1;

-- case: pipe concat with a join key
-- expect: deny join_rule population.persons.person_id
SELECT district || person_id, count(*) FROM persons GROUP BY 1;

-- case: lpad of a join key
-- expect: deny unknown_function
SELECT lpad(CAST(person_id AS VARCHAR), 20, '0'), count(*) FROM persons GROUP BY 1;

-- case: regexp on a denied column
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE regexp_matches(id_card, '^5001');

-- case: length of a denied column
-- expect: deny deny_column population.persons.name
SELECT length(name), count(*) FROM persons GROUP BY 1;

-- case: ascii of a denied column
-- expect: deny unknown_function
SELECT ascii(name), count(*) FROM persons GROUP BY 1;

-- case: count of a denied column
-- expect: deny deny_column population.persons.name
SELECT district, count(name) FROM persons GROUP BY district;

-- case: count distinct of a denied column
-- expect: deny deny_column population.households.hh_id
SELECT district, count(DISTINCT hh_id) FROM households GROUP BY district;

-- case: sum of the length of an aggregate column as text
-- expect: deny aggregate_only population.persons.income
SELECT district, sum(length(CAST(income AS VARCHAR))) FROM persons GROUP BY district;

-- case: case expression on a denied column
-- expect: deny deny_column population.persons.id_card
SELECT CASE WHEN id_card LIKE '5001%' THEN 'cq' ELSE 'other' END AS r, count(*) FROM persons GROUP BY r;

-- case: legal representative name in a function
-- expect: deny deny_column enterprises.enterprises.legal_rep_name
SELECT upper(legal_rep_name), count(*) FROM enterprises.enterprises GROUP BY 1;

-- case: format function
-- expect: deny unknown_function
SELECT format('{}', district), count(*) FROM persons GROUP BY 1;

-- case: printf function
-- expect: deny unknown_function
SELECT printf('%s', district), count(*) FROM persons GROUP BY 1;
