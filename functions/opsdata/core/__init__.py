"""Shared building blocks: settings, database access, migrations."""
