"""``parent | transformer``: a transformer fed by a resource chosen where it is used."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import dataload


@dataload.resource
def issues():
    yield [{"id": 1}, {"id": 2}]


@dataload.resource
def pulls():
    yield [{"id": 10}]


@dataload.transformer
def comments(parent):
    yield {"parent_id": parent["id"], "text": f"on {parent['id']}"}


def test_pipe_feeds_a_transformer_with_the_resource(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    pipe = make_pipeline()
    pipe.run(issues | comments)
    assert sorted(row["parent_id"] for row in pipe.dataset()["comments"].rows()) == [1, 2]


def test_one_transformer_piped_from_two_parents_stays_two_resources() -> None:
    from_issues, from_pulls = issues | comments, pulls | comments.with_name("pull_comments")
    assert [c["parent_id"] for c in from_issues] == [1, 2]
    assert [c["parent_id"] for c in from_pulls] == [10]
    assert comments.data_from is None  # the transformer itself is not changed by piping


def test_pipe_keeps_bound_arguments() -> None:
    @dataload.transformer
    def tagged(parent, tag: str = "none"):
        yield {"id": parent["id"], "tag": tag}

    assert [row["tag"] for row in issues | tagged(tag="x")] == ["x", "x"]


def test_piping_into_what_is_not_a_transformer_is_refused() -> None:
    with pytest.raises(dataload.InvalidConfig, match=r"'pulls' is not a transformer"):
        issues | pulls  # noqa: B018


def test_piping_into_a_transformer_that_has_a_parent_is_refused() -> None:
    @dataload.transformer(data_from=pulls)
    def details(parent):
        yield parent

    with pytest.raises(dataload.InvalidConfig, match=r"'details' is already fed by 'pulls'"):
        issues | details  # noqa: B018


def test_a_transformer_without_a_parent_is_a_clear_error(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    with pytest.raises(dataload.InvalidConfig, match=r"transformer 'comments' has no parent.*issues \| comments"):
        make_pipeline().run(comments)
