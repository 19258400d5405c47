"""Load packages on disk: one folder per load id, moved between stages by atomic renames."""
