"""Load: hand normalized packages to the destination, retrying transient failures."""
