-- Issue 10, class 3: runtime errors as an oracle. Data-dependent conversions are refused; casts,
-- divisions and overflow-prone arithmetic are rewritten (the golden file pins each rewrite).

-- case: text column equals a number
-- expect: deny type_mismatch
SELECT district, count(*) FROM persons WHERE street = 5 GROUP BY district;

-- case: text column greater than a number
-- expect: deny type_mismatch
SELECT count(*) FROM contributions WHERE month > 3;

-- case: text column between numbers
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE street BETWEEN 1 AND 9;

-- case: text column in a number list
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE district IN (1, 2);

-- case: number compared with a text column
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE age = street;

-- case: date compared with a text column
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE birth_date = street;

-- case: text column compared with a date literal
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE street > DATE '2000-01-01';

-- case: join of a number key with a text key
-- expect: deny type_mismatch
SELECT count(*) FROM persons p JOIN enterprises.enterprises e ON p.person_id = e.uscc;

-- case: semi join of a number key with a text key
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE person_id IN (SELECT employer_uscc FROM contributions);

-- case: case condition with a text-number comparison
-- expect: deny type_mismatch
SELECT district, sum(CASE WHEN street = 1 THEN income ELSE 0 END) FROM persons GROUP BY district;

-- case: filter with a text-number comparison
-- expect: deny type_mismatch
SELECT district, count(*) FILTER (WHERE street < 0) FROM persons GROUP BY district;

-- case: having on a text group key compared to a number
-- expect: deny type_mismatch
SELECT street, count(*) FROM persons GROUP BY street HAVING street = 3;

-- case: text comparison hidden in a cte
-- expect: deny type_mismatch
WITH t AS (SELECT district, street FROM persons) SELECT district, count(*) FROM t WHERE street = 7 GROUP BY district;

-- case: lower of a text column compared to a number
-- expect: deny type_mismatch
SELECT count(*) FROM persons WHERE lower(street) = 1;

-- case: month text compared to a number
-- expect: deny type_mismatch
SELECT count(*) FROM contributions WHERE month = 202401;

-- case: date_part with a column part
-- expect: deny unsupported_syntax
SELECT date_part(district, birth_date) AS p, count(*) FROM persons GROUP BY 1;

-- case: interval from a column
-- expect: deny unsupported_syntax
SELECT count(*) FROM persons WHERE birth_date + INTERVAL (age * 1000000) DAY > DATE '2000-01-01';

-- case: error() is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE error('x') IS NOT NULL;

-- case: raise via try() is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE try(age) IS NOT NULL;

-- case: sqrt is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE sqrt(age) IS NOT NULL;

-- case: ln is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE ln(age) IS NOT NULL;

-- case: pow is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE pow(age, 100) IS NOT NULL;

-- case: exp is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE exp(age) IS NOT NULL;

-- case: repeat is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE length(repeat(street, 1000000)) IS NOT NULL;

-- case: regexp with a column pattern is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE regexp_matches(street, district) IS NOT NULL;

-- case: to_date with a format is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE strptime(street, '%Y') IS NOT NULL;

-- case: hash of a column is not on the allowlist
-- expect: deny unknown_function
SELECT count(*) FROM persons WHERE hash(street) IS NOT NULL;

-- case: cast becomes try_cast
-- expect: allow
SELECT count(*) FROM persons WHERE CAST(street AS INTEGER) > 3;

-- case: shorthand cast becomes try_cast
-- expect: allow
SELECT count(*) FROM persons WHERE street::DATE > DATE '2000-01-01';

-- case: cast in the output becomes try_cast
-- expect: allow
SELECT CAST(age AS VARCHAR) AS a, count(*) FROM persons GROUP BY 1;

-- case: division by an expression becomes nullif
-- expect: allow
SELECT count(*) FROM persons WHERE 100 / (age - 99) > 1;

-- case: integer division by an expression becomes nullif
-- expect: allow
SELECT count(*) FROM persons WHERE 100 // (age - 99) > 1;

-- case: modulo by an expression becomes nullif
-- expect: allow
SELECT count(*) FROM persons WHERE 100 % (age - 99) = 0;

-- case: division of aggregates becomes nullif
-- expect: allow
SELECT district, sum(income) / (count(*) - 10) FROM persons GROUP BY district;

-- case: integer overflow in where is wrapped in try
-- expect: allow
SELECT district, count(*) FROM persons WHERE age * 100000000 > 0 GROUP BY district;

-- case: negation overflow is wrapped in try
-- expect: allow
SELECT count(*) FROM persons WHERE -age < 0;

-- case: abs overflow is wrapped in try
-- expect: allow
SELECT count(*) FROM persons WHERE abs(age - 2147483647) > 0;

-- case: overflow in a group key is wrapped in try
-- expect: allow
SELECT age * 2147483647 AS x, count(*) FROM persons GROUP BY 1;

-- case: overflow inside sum works in double
-- expect: allow
SELECT industry, sum(employees * 1000000) FROM enterprises.enterprises GROUP BY industry;

-- case: overflow of products of aggregates works in double
-- expect: allow
SELECT industry, sum(employees) * sum(employees) * sum(employees) * sum(employees) * sum(employees) AS p FROM enterprises.enterprises GROUP BY industry;

-- case: overflow of count arithmetic works in double
-- expect: allow
SELECT district, count(*) * 9223372036854775807 AS p FROM persons GROUP BY district;

-- case: overflow in a join filter is wrapped in try
-- expect: allow
SELECT p.district, count(*) FROM persons p JOIN households h ON p.person_id = h.person_id AND h.size * 2147483647 > 0 GROUP BY p.district;

-- case: overflow in a conditional aggregate condition is wrapped in try
-- expect: allow
SELECT district, sum(income) FILTER (WHERE age * 1000000000 > 5) FROM persons GROUP BY district;

-- case: constant overflow is left alone
-- expect: allow
SELECT count(*) FROM persons WHERE 2147483646 + 1 > age;

-- case: date arithmetic is wrapped in try
-- expect: allow
SELECT count(*) FROM persons WHERE birth_date + INTERVAL 1 DAY > DATE '2000-01-01';
