"""Streamed upload conversion (issue 16 item 2): memory does not grow with the file, and a column's type,
sample and bounds still reflect every block of the file, in UTF-8 and GBK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from bench.bench_memory import ROOT, make_csv
from catalog import convert

ROWS = 100_000  # about 3 MiB: several 1 MiB blocks


def _csv(path: Path, last_row: str, encoding: str = "utf-8") -> Path:
    lines = ["person_id,district,income,joined"]
    lines += [f"{i},渝中区,{1000 + i % 500},2024-01-{1 + i % 28:02d}" for i in range(ROWS)]
    lines.append(last_row)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_a_value_in_the_last_block_decides_the_type(tmp_path):
    path = _csv(tmp_path / "a.csv", "x9,江北区,1e400,2024-02-30")
    assert path.stat().st_size > 2 * convert.BLOCK_BYTES
    out = convert.convert_upload(path, "a.csv", "text/csv", tmp_path)
    types = {c.name: c.type for c in out.columns}
    # person_id: text in the last row; income: not finite; joined: no such day. All stay text.
    assert types == {"person_id": "VARCHAR", "district": "VARCHAR", "income": "VARCHAR", "joined": "VARCHAR"}
    assert pq.read_metadata(out.path).num_rows == ROWS + 1 == out.rows


def test_gbk_in_many_blocks_converts_and_keeps_its_text(tmp_path):
    path = _csv(tmp_path / "g.csv", "999999,大渡口区,99999.5,2024-03-01", encoding="gbk")
    out = convert.convert_upload(path, "g.csv", "text/csv", tmp_path, sample_rows=50)
    types = {c.name: c.type for c in out.columns}
    assert types == {"person_id": "BIGINT", "district": "VARCHAR", "income": "DOUBLE", "joined": "DATE"}
    table = pq.read_table(out.path)
    assert table.column("district")[ROWS].as_py() == "大渡口区"
    assert out.sample.num_rows == 50  # bounded sample, whatever the file's length
    # The maximum is in the very last row: the bounds come from the whole column, not the sample.
    assert out.ranges["income"] == (1000.0, 99999.5)
    assert convert.suggest(out, sample_rows=50)["income"].upper >= 99999.5


def test_reservoir_sample_reaches_the_end_of_the_file(tmp_path):
    path = _csv(tmp_path / "r.csv", "100000,渝中区,1,2024-01-01")
    out = convert.convert_upload(path, "r.csv", "text/csv", tmp_path, sample_rows=200)
    ids = out.sample.column("person_id").to_pylist()
    assert len(ids) == 200 and len(set(ids)) == 200
    assert max(ids) > ROWS * 3 // 4  # a first-rows sample would stop at 199


def _peak_growth(path: Path, staging: Path) -> float:
    code = (
        f"import json, resource, sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; "
        "from catalog import convert; import pyarrow.parquet, pyarrow.compute; "
        "r = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; before = r(); "
        f"c = convert.convert_upload(Path({str(path)!r}), 'a.csv', 'text/csv', Path({str(staging)!r})); "
        "print(json.dumps(r() - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=240
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    """Old code: the whole CSV became one Arrow table, so 4x the input cost about 4x the memory."""
    small, large = tmp_path / "s.csv", tmp_path / "l.csv"
    make_csv(small, 15)
    make_csv(large, 75)
    growth_small = _peak_growth(small, tmp_path)
    growth_large = _peak_growth(large, tmp_path)
    assert growth_large - growth_small < 30, (growth_small, growth_large)
