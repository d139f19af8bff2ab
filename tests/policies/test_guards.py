"""Checker properties that one-line bugs in ``policies/checker`` used to survive (issue 19 mutants).

A join key may only meet another join key across two table references (``a.person_id = b.person_id``).
Compared with a join key of the same row, it answers questions about individuals (is this person's id the
employer's code?) and is no join at all.
"""

from __future__ import annotations

import pytest
from checker_fixtures import demo_catalog, demo_grants

from common.errors import PolicyViolation
from policies.checker import check


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT month, count(*) FROM contributions c WHERE c.person_id = c.employer_uscc GROUP BY month",
        "SELECT month, count(*) FROM contributions WHERE person_id = employer_uscc GROUP BY month",
        "SELECT p.district, count(*) FROM persons p JOIN households h "
        "ON p.person_id = h.person_id AND p.person_id = p.person_id GROUP BY p.district",
    ],
    ids=["aliased", "unqualified", "extra_conjunct_in_join"],
)
def test_a_join_key_compared_within_one_table_reference_is_refused(sql):
    with pytest.raises(PolicyViolation) as info:
        check(sql, demo_grants(), demo_catalog())
    assert info.value.rule == "join_rule" and info.value.hint


def test_a_self_join_on_the_key_across_two_references_is_allowed():
    """The other side of the same rule: two references to one table are two tables for the join."""
    query = check(
        "SELECT a.district, count(*) FROM persons a JOIN persons b ON a.person_id = b.person_id "
        "GROUP BY a.district",
        demo_grants(),
        demo_catalog(),
    )
    assert query.unit_columns == ("__shuyu_units_0", "__shuyu_units_1")
