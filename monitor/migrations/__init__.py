"""Alembic migrations of the database schema (see README.md beside this file)."""
