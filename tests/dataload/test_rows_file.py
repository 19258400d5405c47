"""The extracted-rows fallback (rows Arrow cannot hold) is tagged JSON: every value it can meet comes
back equal and of the same type, reading it runs no code, and a pickle an older version wrote is refused."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import pickle
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dataload
from dataload.exceptions import PackageFormatError
from dataload.extract.buffer import read_extracted
from dataload.extract.rows_file import write_rows
from dataload.values import JsonText, NoTableForm

UTC = datetime.timezone.utc
KEPT: list[Any] = [  # values that come back as they were: equal, and of the same type (also inside)
    "", "text", "ünïcødé ✓", "a lone surrogate \ud800", "$dl",
    0, -7, 2**100, -(2**100), 1.5, -0.0, float("inf"), float("-inf"), True, False,
    None, [], [1, "a", None], {}, {"a": 1, "b": {"c": [1, 2]}},
    {1: "int key", 2.5: "float key", None: "none key", False: "bool key", ("t", 1): "tuple key"},
    {"$dl": "a user key that looks like a tag", "v": 1}, (), (1, "a"), {1, 2}, frozenset({"x"}),
    datetime.datetime(2024, 2, 29, 23, 59, 59, 999999), datetime.datetime(2024, 1, 1, tzinfo=UTC),
    datetime.datetime(2024, 1, 1, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
    datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.time(0, 0), datetime.time(12, 30, 1, 5),
    datetime.time(1, 2, tzinfo=UTC), decimal.Decimal("1.10"), decimal.Decimal("-0"), decimal.Decimal("1E+30"),
    decimal.Decimal("123456789012345678901234567890.123456789"), decimal.Decimal("Infinity"), b"", b"\x00\xff",
    bytearray(b"ab"), datetime.timedelta(0), datetime.timedelta(days=-1, microseconds=3),
    datetime.timedelta(days=999999), uuid.UUID(int=0), uuid.uuid4(), JsonText('{"deep": [1]}'),
    [(1, {2}), {"k": (datetime.date(2024, 1, 1), decimal.Decimal("2.5"))}],
]


class Color(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


@dataclasses.dataclass
class Point:
    x: int
    y: datetime.date


class Opaque:
    """An object with no table form."""


PLAIN_FORMS: list[tuple[Any, Any]] = [  # objects kept as the plain data they stand for (as normalize takes them)
    (Color.RED, "red"), (Size.BIG, 3), (Point(1, datetime.date(2024, 1, 1)), {"x": 1, "y": datetime.date(2024, 1, 1)}),
    (np.int64(5), 5), (np.float64(2.5), 2.5), (np.bool_(True), True), (pd.NaT, None),
    (pd.Timestamp("2024-01-01T12:00:00.000001Z"), datetime.datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=UTC)),
    (memoryview(b"mv"), b"mv"), (Opaque(), NoTableForm("Opaque")), (Opaque, NoTableForm("type")),
]


def round_trip(tmp_path: Path, rows: list[Any]) -> list[Any]:
    path = tmp_path / "000000.segment"
    write_rows(path, rows)
    kind, back = read_extracted(path)
    assert kind == "rows"
    return back  # type: ignore[no-any-return]


def assert_same(back: Any, expected: Any) -> None:
    """Equal, and of the same type all the way down (dict keys and set members too)."""
    assert type(back) is type(expected), (back, expected)
    if isinstance(expected, dict):
        assert list(back) == list(expected)
        for key in expected:
            (same_key,) = [k for k in back if k == key and type(k) is type(key)]
            assert_same(back[same_key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(back) == len(expected)
        for item, want in zip(back, expected):
            assert_same(item, want)
    elif isinstance(expected, (set, frozenset)):
        assert back == expected and {type(v) for v in back} == {type(v) for v in expected}
    elif isinstance(expected, (datetime.datetime, datetime.time)):
        assert back == expected and back.utcoffset() == expected.utcoffset()
    else:
        assert back == expected


@pytest.mark.parametrize("value", KEPT, ids=lambda v: type(v).__name__)
def test_every_value_comes_back_equal_and_of_the_same_type(tmp_path: Path, value: Any) -> None:
    (row,) = round_trip(tmp_path, [{"v": value}])
    assert_same(row, {"v": value})


def test_values_json_cannot_compare_come_back_too(tmp_path: Path) -> None:
    nans = {"nan": float("nan"), "dnan": decimal.Decimal("NaN"), "snan": decimal.Decimal("sNaN")}
    (row,) = round_trip(tmp_path, [nans])
    assert type(row["nan"]) is float and row["nan"] != row["nan"]
    assert type(row["dnan"]) is decimal.Decimal and row["dnan"].is_qnan()
    assert row["snan"].is_snan()


@pytest.mark.parametrize("value, plain", PLAIN_FORMS, ids=lambda v: type(v).__name__)
def test_objects_come_back_as_the_plain_data_they_stand_for(tmp_path: Path, value: Any, plain: Any) -> None:
    (row,) = round_trip(tmp_path, [{"v": value}])
    assert_same(row, {"v": plain})


def test_rows_nested_too_deep_keep_their_deep_parts_as_json_text(tmp_path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": deep}
    (row,) = round_trip(tmp_path, [deep])
    for _ in range(32):
        row = row["d"]
    assert isinstance(row, JsonText) and row.startswith('{"d": {"d"') and row.endswith('"bottom"' + "}" * 268)


def test_a_pickle_written_by_an_older_version_is_refused_not_run(tmp_path: Path) -> None:
    path = tmp_path / "1700000000.000001" / "extracted" / "000000.segment"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps([{"a": 1}], protocol=5))
    with pytest.raises(PackageFormatError) as refused:
        read_extracted(path)
    assert str(path) in str(refused.value) and "pickle" in str(refused.value)
    assert refused.value.load_id == "1700000000.000001"


def test_a_page_arrow_cannot_hold_loads_with_its_values(sql_pipeline: Any) -> None:
    """Mixed types in one column send the page through the fallback; the destination holds the values."""
    pipe: dataload.Pipeline = sql_pipeline()
    rows = [{"id": 1, "mixed": 5, "at": datetime.datetime(2024, 1, 1, 12, tzinfo=UTC),
             "amount": decimal.Decimal("1.25"), "key": uuid.UUID(int=7), "blob": b"\x01"},
            {"id": 2, "mixed": "five", "at": datetime.datetime(2024, 1, 2, tzinfo=UTC), "amount": decimal.Decimal("-3"),
             "key": uuid.UUID(int=8), "blob": b""}]
    pipe.run(rows, table_name="items")
    back = sorted(pipe.dataset()["items"].rows(), key=lambda r: r["id"])
    assert [(r["at"], r["amount"], r["key"], bytes(r["blob"])) for r in back] == [
        (datetime.datetime(2024, 1, 1, 12, tzinfo=UTC), decimal.Decimal("1.25"), str(uuid.UUID(int=7)), b"\x01"),
        (datetime.datetime(2024, 1, 2, tzinfo=UTC), decimal.Decimal("-3"), str(uuid.UUID(int=8)), b"")]
    assert back[0]["mixed"] == 5 and [v for k, v in back[1].items() if k.startswith("mixed")].count("five") == 1


class BrokenZone(datetime.tzinfo):
    """A third-party time zone gone wrong: its offset raises."""

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        raise ValueError("this zone has no offset")


def test_a_time_zone_that_cannot_give_its_offset_comes_back_raising_the_same(tmp_path: Path) -> None:
    (row,) = round_trip(tmp_path, [{"at": datetime.datetime(2024, 1, 1, 5, tzinfo=BrokenZone())}])
    assert type(row["at"]) is datetime.datetime and row["at"].replace(tzinfo=None) == datetime.datetime(2024, 1, 1, 5)
    with pytest.raises(ValueError, match="this zone has no offset"):
        row["at"].utcoffset()
