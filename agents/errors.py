"""Errors of the agent layer.

    AgentError            the model or the run failed; .message is safe to show in Slack
     └── AgentTimeout     the run took longer than its budget
"""

from __future__ import annotations


class AgentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AgentTimeout(AgentError):
    pass
