"""Schema-contract checks every destination must pass: each cell of the mode × entity table.

Same calling convention as :mod:`dataload.testing.destination_suite`: each check takes
``make_pipeline(name=None)``. Every mode uses its own table, so all cells share one dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dataload
from dataload.facade import Pipeline

MakePipeline = Callable[..., Pipeline]
MODES = ("evolve", "freeze", "discard_row", "discard_value")


def _run(pipe: Pipeline, data: list[dict[str, Any]], table: str, contract: dict[str, str]) -> bool:
    """Run under ``contract``; True when it raised the contract violation."""
    try:
        pipe.run(data, table_name=table, schema_contract=contract)
    except dataload.DataContractViolation:
        return True
    return False


def _ids(pipe: Pipeline, table: str) -> list[Any]:
    return sorted(row["id"] for row in pipe.dataset().table(table).rows())


def check_contract_new_table(make_pipeline: MakePipeline) -> None:
    """A new table: evolve creates it, freeze raises, both discards drop its rows."""
    for mode in MODES:
        pipe = make_pipeline()
        table = f"fresh_{mode}"
        raised = _run(pipe, [{"id": 1}, {"id": 2}], table, {"tables": mode})
        assert raised is (mode == "freeze"), f"{mode}: raised={raised}"
        created = table in [t.name for t in pipe.default_schema.data_tables()]
        assert created is (mode == "evolve"), f"{mode}: table created={created}"
        if created:
            assert _ids(pipe, table) == [1, 2]


def check_contract_new_column(make_pipeline: MakePipeline) -> None:
    """A new column: evolve adds it, freeze raises, discard_row drops the row, discard_value the value."""
    expected = {"evolve": ([0, 1, 2], {1: "x"}), "freeze": ([0], {}), "discard_row": ([0, 2], {}),
                "discard_value": ([0, 1, 2], {})}
    for mode, (ids, extras) in expected.items():
        pipe = make_pipeline()
        table = f"cols_{mode}"
        pipe.run([{"id": 0, "name": "a"}], table_name=table)
        raised = _run(pipe, [{"id": 1, "name": "b", "extra": "x"}, {"id": 2, "name": "c"}], table, {"columns": mode})
        assert raised is (mode == "freeze"), f"{mode}: raised={raised}"
        rows = pipe.dataset().table(table).rows()
        assert sorted(r["id"] for r in rows) == ids, f"{mode}: ids {sorted(r['id'] for r in rows)}"
        got = {r["id"]: r["extra"] for r in rows if r.get("extra") is not None}
        assert got == extras, f"{mode}: extra values {got}"
        assert ("extra" in rows[0]) is (mode == "evolve"), f"{mode}: column extra present={'extra' in rows[0]}"


def check_contract_new_data_type(make_pipeline: MakePipeline) -> None:
    """A value of a new type: evolve makes a variant, freeze raises, discards drop the row or value."""
    expected = {"evolve": {0: (0, None), 1: (None, "oops"), 2: (2, None)}, "freeze": {0: (0, None)},
                "discard_row": {0: (0, None), 2: (2, None)}, "discard_value": {0: (0, None), 1: (None, None),
                                                                               2: (2, None)}}
    for mode, cells in expected.items():
        pipe = make_pipeline()
        table = f"types_{mode}"
        pipe.run([{"id": 0, "n": 0}], table_name=table)
        raised = _run(pipe, [{"id": 1, "n": "oops"}, {"id": 2, "n": 2}], table, {"data_type": mode})
        assert raised is (mode == "freeze"), f"{mode}: raised={raised}"
        got = {r["id"]: (r["n"], r.get("n__v_text")) for r in pipe.dataset().table(table).rows()}
        assert got == cells, f"{mode}: rows {got}"


def check_frozen_table_accepts_rows_that_fit(make_pipeline: MakePipeline) -> None:
    """A table created while evolving keeps accepting fitting rows once frozen."""
    pipe = make_pipeline()
    pipe.run([{"id": 0, "n": 1}], table_name="frozen_ok")
    assert not _run(pipe, [{"id": 1, "n": 2}, {"id": 2}], "frozen_ok", {"tables": "freeze", "columns": "freeze",
                                                                    "data_type": "freeze"})
    assert _ids(pipe, "frozen_ok") == [0, 1, 2]


CONTRACT_CHECKS: list[Callable[[MakePipeline], None]] = [
    check_contract_new_table,
    check_contract_new_column,
    check_contract_new_data_type,
    check_frozen_table_accepts_rows_that_fit,
]
