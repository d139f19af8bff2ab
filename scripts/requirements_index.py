"""Print, for each requirement ID defined in docs/requirements.md, the tests that cite it (by
name ``test_<id>_...`` or in their docstring). Used to fill the "Tests" column;
tests/test_requirements_doc.py keeps
the document and the tests consistent.

    python3 scripts/requirements_index.py
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| (?P<id>[RA]\d+) \|", re.M)
TEST = re.compile(r'^\s*def (test_\w+)\(.*?\).*?:\n(\s+"""(?P<doc>.*?)""")?', re.M | re.S)


def defined_ids(text: str) -> list[str]:
    return ROW.findall(text)


def citations(tests_root: Path, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(tests_root.rglob("test_*.py")):
        for m in TEST.finditer(path.read_text(encoding="utf-8")):
            name, doc = m.group(1), m.group("doc") or ""
            for rid in ids:
                low = rid.lower()
                if re.search(rf"_{low}(_|$)", name) or re.search(rf"\b{rid}\b", doc):
                    found[rid].add(f"{path.relative_to(tests_root.parent)}::{name}")
    return {rid: sorted(found[rid]) for rid in ids}


def main() -> int:
    doc = (ROOT / "docs" / "requirements.md").read_text(encoding="utf-8")
    for rid, tests in citations(ROOT / "tests", defined_ids(doc)).items():
        print(rid, ", ".join(t.split("::")[1] for t in tests) or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
