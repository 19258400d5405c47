"""Partitioned runs whose packages are staged on an fsspec URL (issue 18): ``staging_url=``."""

from __future__ import annotations

import pytest
from landed import assert_landed
from test_partitions_local import PARTS, ROWS

import dataload
from dataload.exceptions import InvalidConfig
from dataload.scale.staging import COMPLETE, Staging
from destinations import duckdb

fsspec = pytest.importorskip("fsspec")


@dataload.resource(name="numbers", primary_key="n", write_disposition="append")
def staged_numbers(low: int = 0, high: int = ROWS):
    yield [{"n": n, "square": n * n} for n in range(low, high)]


def test_packages_staged_on_a_url_land_every_row_once_and_the_staged_copies_are_deleted(tmp_path):
    url = f"memory://dataload-staged-{tmp_path.name}"
    pipe = dataload.pipeline("staged", destination=duckdb(str(tmp_path / "staged.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")

    pipe.run(staged_numbers().partition_by(lambda: PARTS), executor="threads", staging_url=url)

    assert_landed(pipe, {"numbers": [{"n": n, "square": n * n} for n in range(ROWS)]}, packages=len(PARTS),
                  keys={"numbers": "n"})
    assert fsspec.filesystem("memory").find(url.removeprefix("memory://")) == []


def test_a_staged_package_without_its_completion_marker_is_refused_naming_the_url(tmp_path):
    staging = Staging((tmp_path / "staged").as_uri())
    package = tmp_path / "package"
    package.mkdir()
    (package / "package.json").write_text("{}")
    staging.upload(package, "1.000001")
    (tmp_path / "staged" / "1.000001" / COMPLETE).unlink()  # as a task killed mid-upload leaves it

    with pytest.raises(InvalidConfig, match="staged/1.000001 is incomplete"):
        staging.download("1.000001", tmp_path / "copy")
    assert not (tmp_path / "copy").exists()

    staging.upload(package, "1.000001")  # a retry overwrites it
    staging.download("1.000001", tmp_path / "copy")
    assert (tmp_path / "copy" / "package.json").read_text() == "{}"


def test_the_staging_url_comes_from_the_config_key_when_not_given(tmp_path, monkeypatch):
    staged = tmp_path / "staged"
    monkeypatch.setenv("PARTITIONS__STAGING_URL", staged.as_uri())
    pipe = dataload.pipeline("configured", destination=duckdb(str(tmp_path / "configured.duckdb")),
                             dataset_name="ds", pipelines_dir=tmp_path / "pipelines")

    pipe.run(staged_numbers().partition_by(lambda: PARTS), executor="threads")

    assert_landed(pipe, {"numbers": [{"n": n, "square": n * n} for n in range(ROWS)]}, packages=len(PARTS),
                  keys={"numbers": "n"})
    assert staged.is_dir() and list(staged.iterdir()) == []  # staged there, deleted once published


def test_a_partition_that_fails_for_good_leaves_no_staged_copy_and_the_rerun_lands_every_row_once(tmp_path):
    staged = tmp_path / "staged"

    @dataload.resource(name="numbers", primary_key="n", write_disposition="append")
    def breaking(low: int = 0, high: int = ROWS, fail: bool = True):
        rows = [{"n": n, "square": n * n} for n in range(low, high)]
        if fail and low <= ROWS // 2 < high:
            raise RuntimeError(f"source broke at n={ROWS // 2}")
        yield rows

    pipe = dataload.pipeline("staged_fail", destination=duckdb(str(tmp_path / "fail.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")
    with pytest.raises(dataload.PartitionError, match="source broke"):
        pipe.run(breaking().partition_by(lambda: PARTS), executor="threads", partition_retries=0,
                 staging_url=staged.as_uri())
    assert list(staged.iterdir()) == []  # the partitions that succeeded were staged, then deleted with the run

    pipe.run(breaking(fail=False).partition_by(lambda: PARTS), executor="threads", staging_url=staged.as_uri())
    assert_landed(pipe, {"numbers": [{"n": n, "square": n * n} for n in range(ROWS)]}, packages=len(PARTS),
                  keys={"numbers": "n"})
    assert list(staged.iterdir()) == []
