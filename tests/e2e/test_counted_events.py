"""dataload.count(): events a resource's code counts show per resource in the run's trace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import dataload


def extract_counts(pipe: dataload.Pipeline) -> dict[str, dict[str, int]]:
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    return extract.counts


def test_counts_are_per_resource_and_printed(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    @dataload.resource
    def pages():
        for n in range(3):
            dataload.count("requests")
            yield [{"n": n}]
        dataload.count("retries", 2)

    @dataload.transformer(data_from=pages)
    def details(item):
        dataload.count("detail_requests")
        yield {"n": item["n"], "double": item["n"] * 2}

    @dataload.source
    def api():
        return pages, details

    pipe = make_pipeline()
    pipe.run(api())
    assert extract_counts(pipe) == {"pages": {"requests": 3, "retries": 2}, "details": {"detail_requests": 3}}
    assert "pages: requests: 3, retries: 2" in str(pipe.last_trace)
    assert sorted((r["n"], r["double"]) for r in pipe.dataset()["details"].rows()) == [(0, 0), (1, 2), (2, 4)]


def test_counts_from_parallel_threads_and_async_tasks_add_up(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    @dataload.resource(parallelized=True)
    def threaded():
        for n in range(200):
            dataload.count("rows")
            yield {"n": n}

    @dataload.resource(parallelized=True)
    def also_threaded():
        for n in range(200):
            dataload.count("rows")
            yield {"n": n}

    @dataload.resource
    async def concurrent():
        async def fetch(n: int) -> dict[str, int]:
            await asyncio.sleep(0)
            dataload.count("fetches")
            return {"n": n}
        yield list(await asyncio.gather(*(fetch(n) for n in range(50))))

    pipe = make_pipeline()
    pipe.run([threaded, also_threaded, concurrent])
    assert extract_counts(pipe) == {"threaded": {"rows": 200}, "also_threaded": {"rows": 200},
                                    "concurrent": {"fetches": 50}}


def test_count_outside_an_extraction_does_nothing(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    dataload.count("anything")
    pipe = make_pipeline()
    pipe.run([{"n": 1}], table_name="t")
    assert extract_counts(pipe) == {}
