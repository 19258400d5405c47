"""Destinations found by name: built-ins and third-party packages through entry points."""

from __future__ import annotations

import textwrap

import pytest

import dataload
from dataload.registry import available, resolve_destination


def test_built_in_names():
    assert {"duckdb", "postgres", "filesystem", "sqlalchemy"} <= set(available())
    assert resolve_destination("duckdb").name == "duckdb"


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(dataload.DataloadError, match="unknown destination 'nosuch'.*duckdb"):
        resolve_destination("nosuch")


def test_a_third_party_package_registers_a_destination_by_entry_point(tmp_path, monkeypatch, make_pipeline):
    """A tiny installed distribution (a dist-info folder on sys.path) adds destination 'memory_list'."""
    (tmp_path / "tiny_destination.py").write_text(textwrap.dedent('''
        import dataload

        ROWS = []

        @dataload.destination(batch_size=100)
        def _sink(items, table):
            ROWS.extend((table.name, item["v"]) for item in items)

        def MemoryList():
            return _sink
    '''))
    dist = tmp_path / "tiny_destination-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-destination\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dataload.destinations]\nmemory_list = tiny_destination:MemoryList\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert available()["memory_list"] == "tiny_destination:MemoryList"
    pipe = make_pipeline(destination="memory_list")
    pipe.run([{"v": 1}, {"v": 2}], table_name="numbers")
    import tiny_destination

    assert tiny_destination.ROWS == [("numbers", 1), ("numbers", 2)]


def test_an_object_that_is_not_a_destination_is_refused():
    with pytest.raises(dataload.DataloadError, match="is not a destination"):
        resolve_destination(object())  # type: ignore[arg-type]
