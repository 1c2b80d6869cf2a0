"""Deterministic, realistic demo shops (`opsdata demo-data`, `opsdata demo`)."""

from opsdata.demo.generator import DemoParams, PlantedPair, generate, planted_pairs

__all__ = ["DemoParams", "PlantedPair", "generate", "planted_pairs"]
