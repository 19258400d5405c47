"""The ``dataload`` command."""
