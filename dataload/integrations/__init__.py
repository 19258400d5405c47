"""Run dataload pipelines from the orchestrators users already have: Airflow, Dagster, Prefect, Metaflow.

Each tool has its own module (:mod:`dataload.integrations.airflow`, ``.dagster``, ``.prefect``,
``.metaflow``) and its own extra (``pip install "dataload[airflow]"``, ...). Importing this
package, or :mod:`dataload`, imports none of the tools: a module imports its tool when it is used.

Every integration gives the orchestrator ``LoadInfo.asdict()`` as the result and turns a run that
failed into the orchestrator's failure, retried only when a retry can help
(:mod:`dataload.integrations.outcome`). See ``docs/orchestrators.md``.
"""
