"""Test helpers for people who build on dataload: the destination conformance suite, and
:class:`InterceptedLoads` to inject a fault into a destination's package loads.

>>> from dataload.testing import ALL_CHECKS
>>> [check.__name__ for check in ALL_CHECKS][:2]
['check_append', 'check_replace_with_children']
"""

from dataload.testing.contract_suite import (
    CONTRACT_CHECKS,
    check_contract_new_column,
    check_contract_new_data_type,
    check_contract_new_table,
    check_frozen_table_accepts_rows_that_fit,
)
from dataload.testing.destination_suite import (
    DESTINATION_CHECKS,
    InterceptedLoads,
    MakePipeline,
    check_append,
    check_delete_loads,
    check_fresh_working_dir_restore,
    check_hostile_identifiers,
    check_merge_upsert_and_children,
    check_parallel_workers,
    check_replace_with_children,
    check_replace_with_no_rows_empties_the_table,
    check_schema_evolution_added_column_and_variant,
    check_state_committed_with_data,
    check_state_that_comes_back_is_the_newest,
    check_transient_failure_is_retried_once,
    check_types_round_trip,
)

ALL_CHECKS = [*DESTINATION_CHECKS, *CONTRACT_CHECKS]

__all__ = [
    "ALL_CHECKS",
    "DESTINATION_CHECKS",
    "InterceptedLoads",
    "CONTRACT_CHECKS",
    "check_contract_new_column",
    "check_contract_new_data_type",
    "check_contract_new_table",
    "check_frozen_table_accepts_rows_that_fit",
    "MakePipeline",
    "check_append",
    "check_delete_loads",
    "check_fresh_working_dir_restore",
    "check_hostile_identifiers",
    "check_merge_upsert_and_children",
    "check_parallel_workers",
    "check_replace_with_children",
    "check_replace_with_no_rows_empties_the_table",
    "check_schema_evolution_added_column_and_variant",
    "check_state_committed_with_data",
    "check_state_that_comes_back_is_the_newest",
    "check_transient_failure_is_retried_once",
    "check_types_round_trip",
]
