"""The spine end to end: the issue's example, dispositions, resources, packages, read back from DuckDB."""

from __future__ import annotations

import datetime
import decimal
import logging

import pyarrow as pa
import pytest

import dataload


def users_page(name: str = "Ann", orders: int = 1) -> list[dict]:
    return [{"id": 1, "name": name, "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": ["a", "b"],
             "orders": [{"sku": f"X{i}", "qty": 2} for i in range(orders)], "signed_up": "2024-03-01T10:00:00Z"}]


def column_types(pipe: dataload.Pipeline, table: str) -> dict[str, str]:
    with pipe.sql_client() as sql:
        rows = sql.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = ? AND table_name = ?", [pipe.dataset_name, table]).fetchall()
    return dict(rows)


def count(pipe: dataload.Pipeline, table: str) -> int:
    return pipe.dataset().table(table).arrow().num_rows


def test_issue_example_lands_as_described(make_pipeline):
    @dataload.resource(primary_key="id", write_disposition="merge")
    def users():
        yield users_page()

    pipe = make_pipeline(dataset_name="crm")
    info = pipe.run(users())
    users_columns = column_types(pipe, "users")
    assert users_columns["id"] == "BIGINT"
    assert users_columns["name"] == "VARCHAR"
    assert users_columns["address__city"] == "VARCHAR"
    assert users_columns["address__geo__lat"] == "DOUBLE"
    assert users_columns["signed_up"] == "TIMESTAMP WITH TIME ZONE"
    assert {"_dl_load_id", "_dl_id"} <= set(users_columns)
    assert {"value", "_dl_parent_id", "_dl_list_idx", "_dl_id"} <= set(column_types(pipe, "users__tags"))
    assert {"sku", "qty"} <= set(column_types(pipe, "users__orders"))
    for system in ("_dl_loads", "_dl_version", "_dl_pipeline_state"):
        assert column_types(pipe, system), system
    row = pipe.dataset().table("users").rows()[0]
    assert row["signed_up"] == datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.timezone.utc)
    tags = sorted(pipe.dataset().table("users__tags").rows(), key=lambda r: r["_dl_list_idx"])
    assert [t["value"] for t in tags] == ["a", "b"]
    assert all(t["_dl_parent_id"] == row["_dl_id"] for t in tags)
    text = str(info)
    assert "crm" in text and "users: 1" in text and "users__tags: 2" in text and info.load_ids[0] in text


def test_append_twice_doubles_and_replace_swaps_with_children(make_pipeline):
    pipe = make_pipeline()
    data = [{"id": 1, "items": [1, 2]}, {"id": 2, "items": [3]}]
    pipe.run(data, table_name="t")
    pipe.run(data, table_name="t")
    assert count(pipe, "t") == 4 and count(pipe, "t__items") == 6
    pipe.run([{"id": 9, "items": [7]}], table_name="t", write_disposition="replace")
    assert [r["id"] for r in pipe.dataset().table("t").rows()] == [9]
    assert [r["value"] for r in pipe.dataset().table("t__items").rows()] == [7]


def test_replace_clears_child_table_even_when_new_rows_have_no_lists(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1, "items": [1, 2]}], table_name="t", write_disposition="replace")
    pipe.run([{"id": 2}], table_name="t", write_disposition="replace")
    assert count(pipe, "t") == 1 and count(pipe, "t__items") == 0


def test_merge_latest_wins_within_a_load_and_children_follow(make_pipeline):
    pipe = make_pipeline()
    rows = [{"id": 1, "v": "old", "kids": [1, 2, 3]}, {"id": 2, "v": "b", "kids": [5]},
            {"id": 1, "v": "new", "kids": [9]}]
    pipe.run(rows, table_name="m", write_disposition="merge", primary_key="id")
    by_id = {r["id"]: r for r in pipe.dataset().table("m").rows()}
    assert {k: v["v"] for k, v in by_id.items()} == {1: "new", 2: "b"}
    kids = pipe.dataset().table("m__kids").rows()
    assert sorted((k["_dl_root_id"] == by_id[1]["_dl_id"], k["value"]) for k in kids) == [(False, 5), (True, 9)]


def test_merge_across_loads_replaces_children_instead_of_duplicating(make_pipeline):
    @dataload.resource(primary_key="id", write_disposition="merge")
    def users(name, orders):
        yield users_page(name, orders)

    pipe = make_pipeline()
    pipe.run(users("Ann", 3))
    first_id = pipe.dataset().table("users").rows()[0]["_dl_id"]
    pipe.run(users("Anna", 1))
    rows = pipe.dataset().table("users").rows()
    assert [(r["id"], r["name"]) for r in rows] == [(1, "Anna")]
    assert rows[0]["_dl_id"] == first_id  # derived from the primary key
    assert count(pipe, "users__orders") == 1 and count(pipe, "users__tags") == 2


def test_merge_across_many_buffer_files_keeps_the_last_row(make_pipeline):
    from dataload.extract.limits import BufferLimits

    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=3))
    rows = [{"id": i % 4, "seq": i, "l": [i]} for i in range(20)]
    pipe.run(rows, table_name="m", write_disposition="merge", primary_key="id")
    got = {r["id"]: r["seq"] for r in pipe.dataset().table("m").rows()}
    assert got == {0: 16, 1: 17, 2: 18, 3: 19}
    assert sorted(r["value"] for r in pipe.dataset().table("m__l").rows()) == [16, 17, 18, 19]


def test_a_page_of_big_records_is_split_into_files_by_bytes(make_pipeline):
    from dataload.extract.limits import BufferLimits
    from dataload.package.storage import read_json

    pipe = make_pipeline(buffer_limits=BufferLimits(segment_bytes=3_000))
    page = [{"id": i, "body": f"{i:04d}" + "x" * 996} for i in range(10)]  # ~1 KB each, yielded as one page
    pipe.extract([page], table_name="docs")
    (package,) = (pipe.working_dir / "packages" / "extracted").iterdir()
    sizes = sorted(p.stat().st_size for p in (package / "extracted").iterdir())
    # a file is written once it reaches 3,000 bytes: 3 records (3 x ~1,030 estimated), never the whole page
    assert len(sizes) == 4 and sizes[-1] < 4 * 1_000
    assert len(read_json(package / "package.json")["extracted_files"]) == 4
    pipe.normalize()
    pipe.load()
    assert sorted((r["id"], r["body"][:4]) for r in pipe.dataset().table("docs").rows()) == [
        (i, f"{i:04d}") for i in range(10)]


def test_merge_key_replaces_partition(make_pipeline):
    pipe = make_pipeline()
    day1 = [{"day": "d1", "n": 1}, {"day": "d1", "n": 2}, {"day": "d2", "n": 3}]
    pipe.run(day1, table_name="e", write_disposition="merge", merge_key="day")
    pipe.run([{"day": "d1", "n": 10}], table_name="e", write_disposition="merge", merge_key="day")
    assert sorted((r["day"], r["n"]) for r in pipe.dataset().table("e").rows()) == [("d1", 10), ("d2", 3)]


def test_source_transformer_selection_and_steps(make_pipeline):
    calls = []

    @dataload.resource
    def issues():
        for i in range(1, 4):
            calls.append(i)
            yield {"id": i}

    @dataload.transformer(data_from=issues)
    def comments(issue):
        yield [{"issue_id": issue["id"], "n": n} for n in range(issue["id"])]

    @dataload.resource(selected=False)
    def skipped():
        yield {"x": 1}

    @dataload.source
    def tracker():
        return issues, comments, skipped

    pipe = make_pipeline()
    pipe.run(tracker())
    assert count(pipe, "issues") == 3 and count(pipe, "comments") == 6
    assert calls == [1, 2, 3]  # the parent ran once for both tables
    assert "skipped" not in pipe.dataset().tables

    pipe2 = make_pipeline()
    pipe2.run(tracker().with_resources("comments"))
    assert count(pipe2, "comments") == 6 and "issues" not in pipe2.dataset().tables


def test_transformer_arguments_per_item_config_bound_and_plain(make_pipeline, monkeypatch):
    """Each parent item reaches the transformer with its bound arguments and config resolved."""
    monkeypatch.setenv("SOURCES__SHOP__SCALED__FACTOR", "3")

    @dataload.resource
    def numbers():
        yield [{"id": i} for i in range(1, 6)]

    @dataload.transformer(data_from=numbers)
    def scaled(item, factor: int = dataload.config.value):
        yield {"id": item["id"], "value": item["id"] * factor}

    @dataload.transformer(data_from=numbers)
    def shifted(item, by=0):
        yield {"id": item["id"], "value": item["id"] + by}

    @dataload.source(name="shop")
    def shop():
        return numbers, scaled, shifted(by=100)

    pipe = make_pipeline()
    pipe.run(shop())
    rows = {t: sorted((r["id"], r["value"]) for r in pipe.dataset().table(t).rows()) for t in ("scaled", "shifted")}
    assert rows == {"scaled": [(i, 3 * i) for i in range(1, 6)], "shifted": [(i, 100 + i) for i in range(1, 6)]}
    with pytest.raises(dataload.ResourceError, match="'shifted'.*TypeError"):
        make_pipeline().run(_broken_transformer())


def test_a_transformer_sees_one_config_per_run_and_the_next_run_sees_a_change(make_pipeline, tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    secrets_file = tmp_path / ".dataload" / "secrets.toml"
    secrets_file.parent.mkdir()

    @dataload.resource
    def orders():
        yield [{"id": i} for i in range(20)]

    @dataload.transformer(data_from=orders)
    def signed(order, token: str = dataload.secrets.value):
        yield {"id": order["id"], "token": str(token)}

    @dataload.source
    def shop():
        return orders, signed

    pipe = make_pipeline()
    for token in ("first", "second"):
        secrets_file.write_text(f'[sources.shop.signed]\ntoken = "{token}"\n')
        pipe.run(shop())
    tokens = [r["token"] for r in sorted(pipe.dataset().table("signed").rows(), key=lambda r: r["_dl_load_id"])]
    assert tokens == ["first"] * 20 + ["second"] * 20


def _broken_transformer():
    @dataload.resource(name="parents")
    def parents():
        yield {"id": 1}

    @dataload.transformer(data_from=parents, name="shifted")
    def shifted(item, by):  # 'by' is never given: the call fails for the first item
        yield {"id": item["id"] + by}

    return shifted


def test_add_limit_stops_the_generator_without_draining(make_pipeline):
    produced = []

    @dataload.resource
    def endless():
        n = 0
        while True:
            produced.append(n)
            yield {"n": n}
            n += 1

    pipe = make_pipeline()
    pipe.run(endless().add_map(lambda r: {**r, "double": r["n"] * 2}).add_filter(lambda r: r["n"] % 2 == 0)
             .add_limit(5))
    rows = sorted(pipe.dataset().table("endless").rows(), key=lambda r: r["n"])
    assert [(r["n"], r["double"]) for r in rows] == [(0, 0), (2, 4), (4, 8)]
    assert len(produced) == 5


def test_table_name_per_item_and_marked_items(make_pipeline):
    @dataload.resource(table_name=lambda event: event["type"])
    def events():
        yield [{"type": "click", "x": 1}, {"type": "view", "x": 2}, {"type": "click", "x": 3}]
        yield dataload.with_table_name({"x": 4}, "archive")

    pipe = make_pipeline()
    pipe.run(events())
    assert count(pipe, "click") == 2 and count(pipe, "view") == 1 and count(pipe, "archive") == 1


def test_with_name_and_apply_hints(make_pipeline):
    base = dataload.resource([{"id": 1, "amount": "12.5"}], name="base")
    renamed = base.with_name("payments").apply_hints(
        columns={"amount": {"data_type": "decimal", "precision": 18, "scale": 2}})
    pipe = make_pipeline()
    pipe.run(renamed)
    assert pipe.dataset().table("payments").rows()[0]["amount"] == decimal.Decimal("12.50")
    assert column_types(pipe, "payments")["amount"] == "DECIMAL(18,2)"


def test_config_and_secrets_fill_source_arguments(make_pipeline, monkeypatch):
    monkeypatch.setenv("SOURCES__SHOP__API_KEY", "k-123")
    monkeypatch.setenv("SOURCES__SHOP__PAGES", "2")

    @dataload.source
    def shop(api_key: str = dataload.secrets.value, pages: int = dataload.config.value):
        return dataload.resource([{"key_len": len(api_key), "page": p} for p in range(pages)], name="orders")

    pipe = make_pipeline()
    pipe.run(shop())
    assert sorted(r["page"] for r in pipe.dataset().table("orders").rows()) == [0, 1]


def test_resources_of_a_source_read_config_under_the_source_then_their_own_name(make_pipeline, monkeypatch):
    """Keys tried for a resource's parameter: sources.<source>.<resource>.x, sources.<source>.x, sources.x."""

    @dataload.resource
    def orders(region: str = dataload.config.value, limit: int = dataload.config.value,
               tag: str = dataload.config.value):
        yield {"id": 1, "region": region, "limit": limit, "tag": tag}

    @dataload.transformer(data_from=orders)
    def lines(order, region: str = dataload.config.value):
        yield {"id": order["id"], "region": region}

    @dataload.source
    def shop():
        return orders, lines

    monkeypatch.setenv("SOURCES__SHOP__ORDERS__REGION", "eu")  # the resource's own section wins
    monkeypatch.setenv("SOURCES__SHOP__REGION", "us")
    monkeypatch.setenv("SOURCES__SHOP__LIMIT", "5")  # the source's section
    monkeypatch.setenv("SOURCES__TAG", "all")  # every source
    pipe = make_pipeline()
    pipe.run(shop())
    order = pipe.dataset().table("orders").rows()[0]
    assert (order["region"], order["limit"], order["tag"]) == ("eu", 5, "all")
    assert pipe.dataset().table("lines").rows()[0]["region"] == "us"


def test_steps_one_by_one_and_pending_packages_finished_first(make_pipeline, caplog):
    pipe = make_pipeline()
    load_id = pipe.extract([{"a": 1}], table_name="first")
    assert pipe.normalize() == [load_id]
    assert pipe.load().load_ids == [load_id]
    assert count(pipe, "first") == 1

    pending = pipe.extract([{"a": 2}], table_name="second")
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run([{"a": 3}], table_name="third")
    assert info.resumed == [pending] and pending in str(info)
    assert "left pending" in caplog.text
    assert count(pipe, "second") == 1 and count(pipe, "third") == 1


def test_arrow_and_pandas_input_keep_their_types(make_pipeline):
    pd = pytest.importorskip("pandas")
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "when": pa.array([0, 1], pa.timestamp("s", "UTC")),
                      "tags": pa.array([["x"], ["y", "z"]]), "point": pa.array([{"x": 1.0}, {"x": 2.0}])})
    pipe = make_pipeline()
    pipe.run(table, table_name="arrow_t")
    pipe.run(table.to_batches()[0], table_name="batch_t")
    pipe.run(pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None]}), table_name="frame_t")
    assert column_types(pipe, "arrow_t")["point__x"] == "DOUBLE"
    assert sorted(r["value"] for r in pipe.dataset().table("arrow_t__tags").rows()) == ["x", "y", "z"]
    assert count(pipe, "batch_t") == 2
    assert [r["name"] for r in pipe.dataset().table("frame_t").rows()] == ["a", "b", None]


def test_schema_versions_are_stored_and_printable(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"a": 1}], table_name="t")
    first = pipe.default_schema.version
    pipe.run([{"a": 2}], table_name="t")
    assert pipe.default_schema.version == first
    info = pipe.run([{"a": 3, "b": "new"}], table_name="t")
    assert pipe.default_schema.version == first + 1
    assert "added column t.b text" in str(info)
    versions = pipe.dataset().table("_dl_version").rows()
    assert sorted(v["version"] for v in versions) == [first, first + 1]
    assert "b: text" in str(pipe.default_schema)
    assert '"name": "t"' in pipe.default_schema.to_json()


def test_max_table_nesting_zero_stores_lists_as_json(make_pipeline):
    @dataload.resource(max_table_nesting=0)
    def flat():
        yield {"id": 1, "tags": ["a", "b"]}

    pipe = make_pipeline()
    pipe.run(flat())
    assert column_types(pipe, "flat")["tags"] == "JSON"
    assert "flat__tags" not in pipe.dataset().tables


def test_trace_has_timings_and_rows(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"a": 1}, {"a": 2}], table_name="t")
    steps = [s.step for s in pipe.last_trace.steps]
    assert steps == ["extract", "normalize", "load"]
    assert all(s.rows == {"t": 2} for s in pipe.last_trace.steps)


def test_loaded_package_is_not_loaded_twice(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"a": 1}], table_name="t")
    loads = pipe.dataset().table("_dl_loads").rows()
    assert len(loads) == 1 and loads[0]["status"] == 0


def test_declared_json_column_keeps_dicts_and_lists_whole(make_pipeline):
    import json

    pipe = make_pipeline()
    pipe.run([{"id": 1, "payload": {"a": 1, "b": [1, 2]}}, {"id": 2, "payload": "plain text"}], table_name="docs",
             columns={"payload": {"data_type": "json"}})
    assert column_types(pipe, "docs")["payload"] == "JSON"
    assert "docs__payload__b" not in pipe.dataset().tables
    values = {r["id"]: json.loads(r["payload"]) for r in pipe.dataset().table("docs").rows()}
    assert values == {1: {"a": 1, "b": [1, 2]}, 2: "plain text"}


def test_a_page_larger_than_a_segment_is_split_into_files(make_pipeline):
    from dataload.extract.limits import BufferLimits

    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=7))
    load_id = pipe.extract([{"n": i} for i in range(50)], table_name="t")
    files = list((pipe.working_dir / "packages" / "extracted" / load_id / "extracted").iterdir())
    assert len(files) == 8
    pipe.run()
    assert sorted(r["n"] for r in pipe.dataset().table("t").rows()) == list(range(50))


@pytest.mark.parametrize("kind", ["generator", "async generator"])
def test_parallelized_resources_run_at_the_same_time(make_pipeline, kind):
    import asyncio
    import threading

    both_running = threading.Barrier(2, timeout=10)  # passes only if the two generators overlap

    def numbers():
        for page in range(3):
            both_running.wait()
            yield [{"n": page * 10 + i} for i in range(10)]

    async def async_numbers():
        for page in range(3):
            await asyncio.to_thread(both_running.wait)
            yield [{"n": page * 10 + i} for i in range(10)]

    def make(name):
        return dataload.resource(numbers if kind == "generator" else async_numbers, name=name, parallelized=True)()

    @dataload.source
    def two():
        return make("left"), make("right")

    pipe = make_pipeline()
    pipe.run(two())
    assert sorted(r["n"] for r in pipe.dataset().table("left").rows()) == list(range(30))
    assert sorted(r["n"] for r in pipe.dataset().table("right").rows()) == list(range(30))


def test_a_failing_parallelized_resource_stops_the_run(make_pipeline):
    @dataload.resource(parallelized=True)
    def fine():
        yield from ({"n": i} for i in range(100))

    @dataload.resource(parallelized=True)
    def broken():
        yield {"n": 1}
        raise ValueError("upstream went away")

    @dataload.source
    def mixed():
        return fine, broken

    pipe = make_pipeline()
    with pytest.raises(dataload.ResourceError, match="'broken'.*upstream went away"):
        pipe.run(mixed())
    assert pipe.pending_packages() == [] and "fine" not in pipe.dataset().tables


def test_selecting_resources_of_one_source_call_does_not_change_the_next(make_pipeline):
    @dataload.resource
    def parents():
        yield [{"id": 1}, {"id": 2}]

    @dataload.transformer(data_from=parents)
    def kids(parent):
        yield {"parent": parent["id"]}

    @dataload.source
    def family():
        return parents, kids

    assert list(family().with_resources("parents").selected_resources) == ["parents"]
    assert list(family().selected_resources) == ["parents", "kids"]
    pipe = make_pipeline()
    pipe.run(family())
    assert count(pipe, "kids") == 2


def test_parallelized_transformers_run_at_the_same_time_as_roots(make_pipeline):
    import threading

    both_running = threading.Barrier(2, timeout=10)  # passes only if the two transformers overlap

    def make(name):
        parent = dataload.resource([{"p": p} for p in range(3)], name=f"{name}_parent")

        @dataload.transformer(data_from=parent, name=name, parallelized=True)
        def child(item):
            both_running.wait()
            yield {"n": item["p"] * 10}

        return child

    @dataload.source
    def two():
        return make("left"), make("right")

    pipe = make_pipeline()
    pipe.run(two())
    assert sorted(r["n"] for r in pipe.dataset().table("left").rows()) == [0, 10, 20]
    assert sorted(r["n"] for r in pipe.dataset().table("right").rows()) == [0, 10, 20]
