"""Extract: run resources and write their items, per table, into a new load package."""
