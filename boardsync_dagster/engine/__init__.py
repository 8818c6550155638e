"""The sync engine: plain Python, no Dagster import. Time and sleep are injectable (see clock.py)."""
