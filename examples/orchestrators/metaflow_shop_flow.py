"""A Metaflow flow loading the shop source in one step; the same step runs on remote compute under @resources.

Run it locally::

    python examples/orchestrators/metaflow_shop_flow.py run

and on Kubernetes unchanged (``@resources`` is honoured there): ``... run --with kubernetes``.
"""

from __future__ import annotations

from metaflow import FlowSpec, resources, retry, step
from shop import shop, shop_pipeline

from dataload.integrations.metaflow import run_pipeline


class ShopFlow(FlowSpec):
    """Load the shop, then report what was loaded from the ``load_info`` artifact."""

    @step
    def start(self) -> None:
        self.next(self.load)

    @retry(times=2)
    @resources(cpu=1, memory=2048)
    @step
    def load(self) -> None:
        run_pipeline(self, shop, pipeline=shop_pipeline)  # keeps LoadInfo.asdict() as self.load_info
        self.next(self.end)

    @step
    def end(self) -> None:
        print("loaded", self.load_info["rows"])


if __name__ == "__main__":
    ShopFlow()
