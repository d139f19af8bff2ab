"""Every case of the corpus in tests/cases/*.sql is allowed or denied as it says."""

from __future__ import annotations

import pytest
from checker_cases import load_cases
from checker_fixtures import GRANTS

from common.errors import PolicyViolation
from common.types import CheckedQuery
from policies.checker import check

CASES = load_cases()


def test_corpus_is_large_and_balanced():
    allow = [c for c in CASES if c.expect == "allow"]
    deny = [c for c in CASES if c.expect == "deny"]
    assert len(CASES) >= 150
    assert len(allow) >= len(deny) > 100
    assert len({c.id for c in CASES}) == len(CASES)


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
