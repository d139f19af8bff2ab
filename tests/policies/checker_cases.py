"""Loader for the data-driven corpus in tests/cases/*.sql."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


@dataclass(frozen=True)
class Case:
    file: str
    title: str
    grant: str
    expect: str  # "allow" | "deny"
    rule: str | None
    column: str | None
    sql: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.title}"


def _case(file: str, block: dict, body: list[str]) -> Case:
    return Case(
        file,
        block["case"],
        block.get("grant", "demo"),
        block["expect"],
        block.get("rule"),
        block.get("column"),
        "\n".join(body).strip(),
    )


def load_file(path: Path) -> list[Case]:
    cases: list[Case] = []
    block: dict | None = None
    body: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- case:"):
            if block is not None:
                cases.append(_case(path.stem, block, body))
            block, body = {"case": line.split(":", 1)[1].strip()}, []
        elif block is not None and not body and line.startswith("-- grant:"):
            block["grant"] = line.split(":", 1)[1].strip()
        elif block is not None and not body and line.startswith("-- expect:"):
            words = line.split(":", 1)[1].split()
            block["expect"] = words[0]
            block["rule"] = words[1] if len(words) > 1 else None
            block["column"] = words[2] if len(words) > 2 else None
        elif block is not None and (body or line.strip()):
            body.append(line)
    if block is not None:
        cases.append(_case(path.stem, block, body))
    return cases


def load_cases() -> list[Case]:
    return [case for path in sorted(CASES_DIR.glob("*.sql")) for case in load_file(path)]
