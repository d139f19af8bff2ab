"""Every case of the corpus in tests/cases/*.sql is allowed or denied as it says."""

from __future__ import annotations

import pytest
from checker_cases import load_cases
from checker_fixtures import GRANTS

from common.errors import PolicyViolation
from common.types import CheckedQuery
from policies.checker import check

CASES = load_cases()


ISSUE10_CLASSES = (
    "conditional_aggregates",
    "ranking",
    "runtime_errors",
    "set_operations",
    "set_operations_more",
    "unit_labels",
)


def test_corpus_is_large_and_balanced():
    allow = [c for c in CASES if c.expect == "allow"]
    deny = [c for c in CASES if c.expect == "deny"]
    assert len(CASES) >= 450
    assert len(allow) >= 150 and len(deny) >= 250
    assert len({c.id for c in CASES}) == len(CASES)


def test_issue10_adversarial_suite_covers_every_class():
    """At least 150 cases for the five leak classes of issue 10, each class with attacks and a rule."""
    suite = [c for c in CASES if c.file in ISSUE10_CLASSES]
    assert len(suite) >= 150
    for name in ISSUE10_CLASSES:
        attacks = [c for c in suite if c.file == name and c.expect == "deny"]
        assert len(attacks) >= 2, name
        assert all(c.rule for c in attacks), f"every attack of {name} names its expected rule"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    grants, catalog = (f() for f in GRANTS[case.grant])
    if case.expect == "allow":
        result = check(case.sql, grants, catalog)
        assert isinstance(result, CheckedQuery)
        return
    assert case.expect == "deny", case
    with pytest.raises(PolicyViolation) as info:
        check(case.sql, grants, catalog)
    violation = info.value
    if case.rule:
        assert violation.rule == case.rule, (violation.rule, violation.message)
    if case.column:
        assert violation.column == case.column, (violation.column, violation.message)
    assert violation.hint, "every refusal tells the analyst what to do instead"
