"""Synthetic demo data for the IOP medication dashboard: ``python -m seed`` or ``seed.generate(engine)``."""

from seed.generator import DEMO_PASSWORD, DemoLogin, SeedError, SeedSummary, demo_logins, generate

__all__ = ["DEMO_PASSWORD", "DemoLogin", "SeedError", "SeedSummary", "demo_logins", "generate"]
