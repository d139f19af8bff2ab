"""Summarise ``mutmut results --all true`` as one line: killed / survived / other and the score."""

from __future__ import annotations

import sys
from collections import Counter


def main(module: str, results_path: str, seconds: str) -> None:
    counts: Counter[str] = Counter()
    for line in open(results_path, encoding="utf-8"):
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            counts[status.strip()] += 1
    killed = counts["killed"] + counts["timeout"]
    survived = counts["survived"]
    judged = killed + survived
    score = f"{100 * killed / judged:.1f}%" if judged else "n/a"
    other = {k: v for k, v in counts.items() if k not in ("killed", "timeout", "survived")}
    print(f"{module}: score {score} — killed {killed}, survived {survived}, other {other}, {seconds} s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
