"""``python -m dataload``: the ``dataload`` command (:mod:`dataload.cli.main`)."""

import sys

from dataload.cli.main import main

sys.exit(main())
