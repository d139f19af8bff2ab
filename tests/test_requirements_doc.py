"""docs/requirements.md defines every requirement ID of the two measures; the tests cite only defined IDs, and
every test the document lists exists and cites its ID (so the mapping cannot silently rot)."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from requirements_index import citations, defined_ids  # noqa: E402

SEED_IDS = (
    "R3 R4 R6 R7 R8 R9 R10 R11 R12 R13 R15 R16 R17 R18 R19 R20 R21 R22 R23 A2 A3 A4 A5 A7 A9 A10 A14 A16 A17 "
    "A18 A19 A20 A21 A23 A25 A26 A28 A29 A30 A31 A32 A33 A34 A35 A37 A38 A39 A41 A42"
).split()
DOC = (ROOT / "docs" / "requirements.md").read_text(encoding="utf-8")


def test_every_requirement_id_of_the_measures_is_defined_once():
    ids = defined_ids(DOC)
    assert sorted(ids) == sorted(SEED_IDS)
    assert len(ids) == len(set(ids))


def _articles() -> set[str]:
    """Every article an ID covers: A10 (Art. 10-13) also answers to A11-A13; R12 (Art. 12, 14) to R14."""
    covered = set()
    for row in re.finditer(r"^\| (?P<id>[RA])(?P<n>\d+) \| (?P<art>[\d, -]+) \|", DOC, re.M):
        for part in row.group("art").split(","):
            first, _, last = part.strip().partition("-")
            covered |= {f"{row.group('id')}{n}" for n in range(int(first), int(last or first) + 1)}
    return covered


def test_tests_cite_only_defined_ids():
    defined = set(defined_ids(DOC)) | _articles()
    cited = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for name in re.findall(r"def test_((?:[ra]\d+_)+)", path.read_text(encoding="utf-8")):
            cited |= {part.upper() for part in name.split("_") if part}
    assert cited - defined == set()


def test_the_tests_listed_for_an_id_exist_and_cite_it():
    found = citations(ROOT / "tests", defined_ids(DOC))
    for row in re.finditer(r"^\| (?P<id>[RA]\d+) \|.*\| (?P<tests>[^|]*) \|$", DOC, re.M):
        listed = set(re.findall(r"`(test_\w+)`", row.group("tests")))
        actual = {t.split("::")[1] for t in found[row.group("id")]}
        assert listed <= actual, (row.group("id"), listed - actual)
