"""Alembic scripts for the storage schema (a package so that wheels ship env.py)."""
