"""Reopening pipelines by name, and dropping resources of a reopened pipeline."""

from __future__ import annotations

import pytest

import dataload
from dataload.pipelines import known_pipelines


def test_an_unknown_name_lists_the_known_pipelines(make_pipeline, tmp_path):
    for name in ("beta", "alpha"):
        make_pipeline(name).run([{"id": 1}], table_name="t")
    base = tmp_path / "pipelines"
    assert known_pipelines(base) == ["alpha", "beta"]
    with pytest.raises(dataload.PipelineError, match="no pipeline 'alpa' in .*; known pipelines: alpha, beta"):
        dataload.attach("alpa", pipelines_dir=base)
    with pytest.raises(dataload.PipelineError, match="no pipeline ran there yet"):
        dataload.attach("alpha", pipelines_dir=tmp_path / "empty")


def test_dropping_an_unknown_resource_is_refused_and_changes_nothing(make_pipeline):
    pipe = make_pipeline("drops")
    pipe.run([{"id": 1, "tags": ["a"]}], table_name="items")
    pipe.run([{"id": 2}], table_name="other")
    with pytest.raises(dataload.InvalidConfig, match="no resource 'itemz' to drop; its resources: items, other"):
        pipe.drop(resources=["items", "itemz"])
    assert [r["id"] for r in pipe.dataset().items.rows()] == [1]
    assert sorted(t.name for t in pipe.default_schema.data_tables()) == ["items", "items__tags", "other"]
    assert pipe.drop(resources=["items"]) == ["items", "items__tags"]
