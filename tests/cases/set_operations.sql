-- Issue 10, class 4: set operations. INTERSECT/EXCEPT compare whole rows, hidden unit counts included,
-- and tell whether a (possibly withheld) group exists on the other side: refused. UNION [ALL] branches
-- each carry their own unit counts, so each branch meets k on its own.

-- case: intersect of grouped keys (was allowed before issue 10)
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district INTERSECT SELECT district FROM households GROUP BY district;

-- case: except of grouped keys (was allowed before issue 10)
-- expect: deny set_operation
SELECT district FROM persons GROUP BY district EXCEPT SELECT district FROM enterprises.enterprises GROUP BY district;
