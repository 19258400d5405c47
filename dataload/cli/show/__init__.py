"""``dataload pipeline NAME show``: a local, read-only web page of a pipeline.

:mod:`~dataload.cli.show.command` adds the action, :mod:`~dataload.cli.show.server` serves the
pages that :mod:`~dataload.cli.show.pages` builds from what :mod:`~dataload.cli.show.reader` reads,
in HTML that :mod:`~dataload.cli.show.markup` escapes.
"""
