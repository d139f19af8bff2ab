-- case: read_csv table function
-- expect: deny table_function
SELECT count(*) FROM read_csv('/etc/passwd');

-- case: read_parquet table function
-- expect: deny table_function
SELECT count(*) FROM read_parquet('/data/population/persons.parquet');

-- case: read_csv_auto in a subquery
-- expect: deny table_function
SELECT district, count(*) FROM persons WHERE district IN (SELECT column0 FROM read_csv_auto('x.csv')) GROUP BY district;

-- case: file path as a table
-- expect: deny file_access
SELECT count(*) FROM 'persons.csv';

-- case: parquet path as a table
-- expect: deny file_access
SELECT count(*) FROM '/data/population/persons.parquet';

-- case: glob table function
-- expect: deny table_function
SELECT count(*) FROM glob('/data/*');

-- case: read_text table function
-- expect: deny table_function
SELECT count(*) FROM read_text('/etc/hostname');

-- case: range table function
-- expect: deny table_function
SELECT count(*) FROM range(10);

-- case: duckdb_settings table function
-- expect: deny table_function
SELECT count(*) FROM duckdb_settings();

-- case: duckdb_tables catalog view
-- expect: deny unknown_table
SELECT count(*) FROM duckdb_tables;

-- case: information_schema
-- expect: deny unknown_table
SELECT table_name, count(*) FROM information_schema.tables GROUP BY table_name;

-- case: pg_catalog
-- expect: deny unknown_table
SELECT count(*) FROM pg_catalog.pg_class;

-- case: sqlite_master
-- expect: deny unknown_table
SELECT count(*) FROM sqlite_master;

-- case: query_table
-- expect: deny table_function
SELECT count(*) FROM query_table('persons');

-- case: pragma
-- expect: deny statement_type
PRAGMA show_tables;

-- case: attach
-- expect: deny statement_type
ATTACH '/tmp/x.db' AS x;

-- case: copy out
-- expect: deny statement_type
COPY (SELECT 1) TO '/tmp/out.csv';

-- case: install extension
-- expect: deny statement_type
INSTALL httpfs;

-- case: load extension
-- expect: deny statement_type
LOAD httpfs;

-- case: getvariable
-- expect: deny unknown_function
SELECT district, count(*) FROM persons WHERE district = getvariable('d') GROUP BY district;

-- case: set variable
-- expect: deny statement_type
SET VARIABLE d = '渝中区';

-- case: set option
-- expect: deny statement_type
SET enable_external_access = true;

-- case: create macro
-- expect: deny statement_type
CREATE MACRO leak(x) AS x;

-- case: create table as
-- expect: deny statement_type
CREATE TABLE t AS SELECT district FROM persons;

-- case: describe
-- expect: deny statement_type
DESCRIBE persons;

-- case: summarize
-- expect: deny statement_type
SUMMARIZE persons;

-- case: call
-- expect: deny statement_type
CALL duckdb_settings();

-- case: export database
-- expect: deny parse_error
EXPORT DATABASE '/tmp/x';

-- case: multiple statements
-- expect: deny multiple_statements
SELECT count(*) FROM persons; SELECT count(*) FROM households;

-- case: statement smuggled after a comment
-- expect: deny multiple_statements
SELECT count(*) FROM persons; -- harmless
ATTACH '/tmp/x.db';

-- case: insert
-- expect: deny statement_type
INSERT INTO persons VALUES (1);

-- case: delete
-- expect: deny statement_type
DELETE FROM persons;

-- case: unknown table
-- expect: deny unknown_table
SELECT count(*) FROM salaries;

-- case: table of a dataset not granted
-- expect: deny unknown_table
SELECT count(*) FROM health.patients;

-- case: three-part name
-- expect: deny unknown_table
SELECT count(*) FROM memory.population.persons;

-- case: values as a table
-- expect: deny values
SELECT count(*) FROM (VALUES (1), (2)) v(x);

-- case: lateral unnest
-- expect: deny table_function
SELECT count(*) FROM persons, LATERAL unnest([1, 2]);

-- case: select without table
-- expect: deny no_table
SELECT 1;

-- case: star
-- expect: deny star
SELECT * FROM persons;

-- case: star exclude
-- expect: deny star
SELECT * EXCLUDE (name, id_card, phone) FROM persons;

-- case: qualified star
-- expect: deny star
SELECT p.* FROM persons p;

-- case: columns expression
-- expect: deny star
SELECT COLUMNS('.*') FROM persons;

-- case: window function
-- expect: deny window_function
SELECT district, avg(income) OVER (PARTITION BY district) FROM persons;

-- case: recursive cte
-- expect: deny recursive_cte
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r;

-- case: sample
-- expect: deny sample
SELECT count(*) FROM persons USING SAMPLE 10;

-- case: pivot
-- expect: deny pivot
SELECT count(*) FROM persons PIVOT (count(*) FOR gender IN ('M', 'F'));

-- case: asof join
-- expect: deny join_type
SELECT count(*) FROM persons p ASOF JOIN households h ON p.person_id >= h.person_id;

-- case: positional join
-- expect: deny join_type
SELECT count(*) FROM persons p POSITIONAL JOIN households h;

-- case: prepared parameter
-- expect: deny unsupported_syntax
SELECT count(*) FROM persons WHERE district = $1;

-- case: garbage
-- expect: deny parse_error
SELEKT district FROM persons;

-- case: reserved hidden name
-- expect: deny reserved_name
SELECT count(*) AS __shuyu_units_0 FROM persons;

-- case: cast to blob
-- expect: deny unsupported_syntax
SELECT district, count(*) FROM persons GROUP BY district HAVING CAST(count(*) AS BLOB) IS NOT NULL;
