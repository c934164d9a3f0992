"""Queries, charts, HTML and CSV exports built from the stored posts."""
