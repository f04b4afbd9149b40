"""Errors of the policy layer.

    PolicyError
     └── PolicyFileError   the policy file cannot be read or is invalid (names key and line)
"""

from __future__ import annotations


class PolicyError(Exception):
    """Root of the policy layer's errors."""


class PolicyFileError(PolicyError):
    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))
