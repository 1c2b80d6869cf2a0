"""Chatwoot export -> PII-free LlamaIndex corpus (files and Postgres). Entry point: run_chatwoot_etl."""

from opsdata.etl.chatwoot.pipeline import EtlOptions, EtlSummary, run_chatwoot_etl

__all__ = ["EtlOptions", "EtlSummary", "run_chatwoot_etl"]
