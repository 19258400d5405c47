"""JSON Lines are decoded to exactly what ``json.loads`` gives, whichever decoder a block gets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.filesystem import filesystem, read_jsonl
from sources.filesystem.json_lines import json_lines

BIG_INTEGERS = st.one_of(st.integers(), st.integers(min_value=2**62, max_value=2**80),
                         st.integers(min_value=-(2**80), max_value=-(2**62)))
SCALARS = st.one_of(st.none(), st.booleans(), BIG_INTEGERS, st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=12)


def _decoded(data: bytes, block_size: int) -> list[Any]:
    """What each line of ``data`` decodes to, or the class of the error its decoder raised."""
    out: list[Any] = []
    for line, loads in json_lines(pa.BufferReader(data), block_size):
        try:
            out.append(loads(line))
        except ValueError:
            out.append(ValueError)
    return out


def _expected(data: bytes) -> list[Any]:
    out: list[Any] = []
    lines = data.split(b"\n")
    for line in lines[:-1] if lines[-1] == b"" else lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append(ValueError)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1 is not 1.0, NaN is NaN, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=8), ascii_only=st.booleans(),
       garbage=st.lists(st.binary(max_size=10), max_size=2), block_size=st.integers(min_value=1, max_value=64))
def test_every_line_decodes_as_json_loads_decodes_it(values: list[Any], ascii_only: bool, garbage: list[bytes],
                                                     block_size: int) -> None:
    lines = [json.dumps(v, ensure_ascii=ascii_only).encode() for v in values]
    lines += [g.replace(b"\n", b" ") for g in garbage]  # invalid JSON, invalid UTF-8: the same error, or value
    data = b"\n".join(lines) + b"\n"

    got, expected = _decoded(data, block_size), _expected(data)

    assert len(got) == len(expected)
    assert all(_same(g, e) for g, e in zip(got, expected)), (got, expected)


def test_integers_beyond_64_bits_and_what_only_json_accepts_are_read_exactly(tmp_path: Path) -> None:
    # orjson alone would read the big integers as floats and refuse NaN, Infinity and the lone surrogate
    records = [{"id": 1, "n": 2**64 - 1}, {"id": 2, "n": 2**64}, {"id": 3, "n": -(2**63) - 1},
               {"id": 4, "n": 10**30, "x": 1.5}, {"id": 5, "x": float("inf")}, {"id": 6, "s": "\ud800"}]
    filler = [{"id": 100 + i, "text": "y" * 200} for i in range(6_000)]  # past the 1 MiB read block
    lines = [json.dumps(r) for r in filler[:3_000] + records[:3] + filler[3_000:] + records[3:]]
    lines.insert(10, '{"id": 7, "x": NaN}')
    (tmp_path / "numbers.jsonl").write_text("\n".join(lines) + "\n")

    rows = list(read_jsonl(filesystem(str(tmp_path), file_glob="*.jsonl")))

    by_id = {row["id"]: row for row in rows}
    assert len(rows) == len(lines)
    for record in records:
        assert _same(by_id[record["id"]], record), (by_id[record["id"]], record)
    assert math.isnan(by_id[7]["x"])
    assert all(by_id[f["id"]] == f for f in filler)
