"""Helpers for code that talks to HTTP APIs: :mod:`dataload.helpers.requests` and the shared :mod:`.retry` policy.

Nothing is imported here: ``from dataload.helpers import requests`` loads only what it needs.
"""
