"""Partitions of a filesystem listing (issue 18): groups of consecutive files, each read by its partition."""

from __future__ import annotations

from pathlib import Path

import pytest

import dataload
from sources.filesystem import filesystem, read_csv


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for n in range(7):
        (tmp_path / f"f{n}.csv").write_text(f"id\n{n}\n{n + 100}\n")
    return tmp_path


@pytest.mark.parametrize("partitions, sizes", [(3, [3, 2, 2]), (7, [1] * 7), (20, [1] * 7), (1, [7])])
def test_the_listing_splits_into_groups_of_consecutive_files(folder: Path, partitions: int, sizes: list[int]) -> None:
    found = filesystem(str(folder), partitions=partitions).partitions()
    groups = [p.arguments["relative_paths"] for p in found]
    assert [len(g) for g in groups] == sizes
    assert [name for group in groups for name in group] == [f"f{n}.csv" for n in range(7)]


def test_a_reader_fed_by_a_partitioned_listing_reads_only_its_partitions_files(folder: Path) -> None:
    reader = read_csv(filesystem(str(folder), partitions=3))
    rows = [sorted(n for batch in reader.for_partition(p) for n in batch.column("id").to_pylist())
            for p in reader.partitions()]
    assert rows == [[0, 1, 2, 100, 101, 102], [3, 4, 103, 104], [5, 6, 105, 106]]


def test_partitions_need_a_bucket_url_and_a_whole_number(folder: Path) -> None:
    with pytest.raises(dataload.InvalidConfig, match="partitions= needs bucket_url="):
        filesystem(partitions=2)
    with pytest.raises(dataload.InvalidConfig, match="partitions must be a whole number >= 1"):
        filesystem(str(folder), partitions=0)
