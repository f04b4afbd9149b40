"""Deterministic slash verbs: no LLM, no tokens."""
