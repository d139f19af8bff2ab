-- case: max of an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT district, max(income) FROM persons GROUP BY district;

-- case: min of an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT min(income) FROM persons;

-- case: first of an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT district, first(income) FROM persons GROUP BY district;

-- case: last of an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT district, last(income) FROM persons GROUP BY district;

-- case: any_value of an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT district, any_value(income) FROM persons GROUP BY district;

-- case: arg_max leaks the top earner's street
-- expect: deny revealing_aggregate
SELECT district, arg_max(street, income) FROM persons GROUP BY district;

-- case: arg_min on an aggregate column
-- expect: deny revealing_aggregate population.persons.income
SELECT district, arg_min(income, age) FROM persons GROUP BY district;

-- case: list of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, list(income) FROM persons GROUP BY district;

-- case: array_agg of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, array_agg(income) FROM persons GROUP BY district;

-- case: string_agg of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, string_agg(CAST(income AS VARCHAR), ',') FROM persons GROUP BY district;

-- case: histogram of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, histogram(income) FROM persons GROUP BY district;

-- case: mode of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, mode(income) FROM persons GROUP BY district;

-- case: median of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, median(income) FROM persons GROUP BY district;

-- case: quantile of incomes
-- expect: deny revealing_aggregate population.persons.income
SELECT district, quantile_cont(income, 0.99) FROM persons GROUP BY district;

-- case: max of a denied column
-- expect: deny deny_column population.persons.name
SELECT district, max(name) FROM persons GROUP BY district;

-- case: max of a group column
-- expect: deny revealing_aggregate population.persons.age
SELECT district, max(age) FROM persons GROUP BY district;

-- case: string_agg of streets
-- expect: deny revealing_aggregate population.persons.street
SELECT district, string_agg(street, ',') FROM persons GROUP BY district;

-- case: max of contribution base
-- expect: deny revealing_aggregate social_insurance.contributions.base_amount
SELECT month, max(base_amount) FROM contributions GROUP BY month;

-- case: raw aggregate column in output
-- expect: deny aggregate_only population.persons.income
SELECT district, income FROM persons GROUP BY district, income;

-- case: aggregate column in where
-- expect: deny aggregate_only population.persons.income
SELECT district, count(*) FROM persons WHERE income > 1000000 GROUP BY district;

-- case: aggregate column in group by
-- expect: deny aggregate_only population.persons.income
SELECT count(*) FROM persons GROUP BY income;

-- case: aggregate column compared inside an aggregate
-- expect: deny aggregate_only population.persons.income
SELECT district, sum(CASE WHEN income > 999999 THEN 1 ELSE 0 END) FROM persons GROUP BY district;

-- case: aggregate column in aggregate filter
-- expect: deny aggregate_only population.persons.income
SELECT district, count(*) FILTER (WHERE income > 999999) FROM persons GROUP BY district;

-- case: aggregate column in having without aggregate
-- expect: deny aggregate_only population.persons.income
SELECT district, count(*) FROM persons GROUP BY district, income HAVING income > 5;

-- case: aggregate column in order by
-- expect: deny aggregate_only population.persons.income
SELECT district, count(*) FROM persons GROUP BY district, income ORDER BY income;

-- case: row-level query on an aggregate-only grant
-- expect: deny row_level_not_allowed
SELECT district, age FROM persons;

-- case: row-level output of a group column under a row-level grant
-- grant: rowlevel
-- expect: deny row_level_not_allowed population.persons.district
SELECT district FROM persons;

-- case: row-level select distinct on an aggregate-only grant
-- expect: deny row_level_not_allowed
SELECT DISTINCT district FROM persons;

-- case: registered capital max
-- expect: deny revealing_aggregate enterprises.enterprises.registered_capital
SELECT industry, max(registered_capital) FROM enterprises.enterprises GROUP BY industry;
