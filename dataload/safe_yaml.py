"""Reading YAML a user hands over (schema files, OpenAPI documents): safe, and bounded in size.

:func:`safe_load` is PyYAML's safe loading — plain data only, so a tag such as
``!!python/object/apply:os.system`` is refused before anything runs — and it also refuses a
document whose aliases make it much larger than its text (the "billion laughs": nine aliases of
nine aliases of ... a small list, which turns a few hundred bytes into a billion values for
whatever walks the data next) or make it contain itself. Both are refused with a
``yaml.MarkedYAMLError`` whose mark gives the line and column of the anchored node, like any other YAML
error, so the callers' own messages name the file and the place.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIAS_EXPANSION = 1_000_000
"""The most nodes that aliases may add to a document when it is read as plain data."""


def safe_load(text: str) -> Any:
    """The plain data of the YAML document ``text``; raises ``yaml.YAMLError`` (see the module).

    >>> safe_load("base: &b {id: 1}\\ncopy: *b")
    {'base': {'id': 1}, 'copy': {'id': 1}}
    >>> safe_load("a: &a [*a]")
    Traceback (most recent call last):
    yaml.composer.ComposerError: the node anchored here holds an alias of itself: a recursive document is not read
      in "<unicode string>", line 1, column 4:
        a: &a [*a]
           ^
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _AliasCheck().expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _AliasCheck:
    """Counts the nodes of a composed document as its data will have them (every alias expanded)."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.added = 0

    def expanded_size(self, node: yaml.Node) -> int:
        """Nodes in ``node`` with its aliases expanded; raises once aliases add too many in all."""
        key = id(node)
        if key in self.sizes:  # a node met again is an alias: its nodes are there once more
            self.added += self.sizes[key]
            if self.added > MAX_ALIAS_EXPANSION:
                raise yaml.composer.ComposerError(
                    None, None, f"aliases of the node anchored here make the document larger than its text by "
                    f"more than {MAX_ALIAS_EXPANSION:,} nodes (a 'billion laughs'); it is not read", node.start_mark)
            return self.sizes[key]
        if key in self.open:
            raise yaml.composer.ComposerError(
                None, None, "the node anchored here holds an alias of itself: a recursive document is not read",
                node.start_mark)
        self.open.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        size = 1 + sum(self.expanded_size(child) for child in children)
        self.open.discard(key)
        self.sizes[key] = size
        return size
