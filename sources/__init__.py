"""Verified sources built on dataload's public API."""
