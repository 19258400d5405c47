"""Normalize: turn extracted items into typed tables and write load files."""
