"""Data reliability: alert delivery, verified backups (quality checks and anomaly detection are SQL)."""
