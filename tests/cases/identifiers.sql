-- case: id card equality
-- expect: deny deny_column population.persons.id_card
SELECT count(*) FROM persons WHERE id_card = '500101199001011234';

-- case: join key equal to a constant
-- expect: deny identifier_literal population.persons.person_id
SELECT district, count(*) FROM persons WHERE person_id = 123 GROUP BY district;

-- case: phone prefix
-- expect: deny deny_column population.persons.phone
SELECT count(*) FROM persons WHERE phone LIKE '138%';

-- case: IN list of ids
-- expect: deny identifier_literal population.persons.person_id
SELECT count(*) FROM persons WHERE person_id IN (1, 2, 3);

-- case: join key range
-- expect: deny identifier_literal population.persons.person_id
SELECT count(*) FROM persons WHERE person_id BETWEEN 100 AND 101;

-- case: join key in order by
-- expect: deny join_rule population.persons.person_id
SELECT district, count(*) FROM persons GROUP BY district, person_id ORDER BY person_id;

-- case: join key in group by
-- expect: deny join_rule population.persons.person_id
SELECT count(*) FROM persons GROUP BY person_id;

-- case: join key as output
-- grant: rowlevel
-- expect: deny join_rule population.persons.person_id
SELECT person_id FROM persons;

-- case: employer uscc equality
-- expect: deny identifier_literal social_insurance.contributions.employer_uscc
SELECT month, count(*) FROM contributions WHERE employer_uscc = '91500000MA5U000000' GROUP BY month;

-- case: enterprise uscc in having via join key comparison
-- expect: deny identifier_literal enterprises.enterprises.uscc
SELECT industry, count(*) FROM enterprises.enterprises WHERE uscc <> 'x' GROUP BY industry;

-- case: legal representative id card
-- expect: deny deny_column enterprises.enterprises.legal_rep_id_card
SELECT count(*) FROM enterprises.enterprises WHERE legal_rep_id_card = '500101197001011234';

-- case: join on a group column
-- expect: deny join_rule
SELECT p.district, count(*) FROM persons p JOIN households h ON p.district = h.district GROUP BY p.district;

-- case: join with inequality
-- expect: deny join_rule
SELECT count(*) FROM persons p JOIN households h ON p.person_id < h.person_id;

-- case: cross join
-- expect: deny join_rule
SELECT count(*) FROM persons p CROSS JOIN households h;

-- case: comma join without condition
-- expect: deny join_rule
SELECT count(*) FROM persons p, households h;

-- case: join on person_id with or
-- expect: deny join_rule
SELECT count(*) FROM persons p JOIN households h ON p.person_id = h.person_id OR p.age = h.size;

-- case: join key against a group column
-- expect: deny join_rule
SELECT count(*) FROM persons p JOIN households h ON p.person_id = h.size;

-- case: join key arithmetic
-- expect: deny join_rule
SELECT count(*) FROM persons p JOIN households h ON p.person_id + 1 = h.person_id;

-- case: semi join with aggregate projection
-- expect: deny subquery_aggregate
SELECT count(*) FROM persons WHERE person_id IN (SELECT max(person_id) FROM contributions);
