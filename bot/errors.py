"""The hub's errors. The Slack and HTTP layers render them; the core never raises HTTP errors.

    SwitchboardError
     ├── BadRequest            malformed input: 400 with a message that says what is wrong
     │    └── PayloadTooLarge  413
     ├── Unauthorized          bad signature, stale timestamp: 401
     └── NotConfigured         a surface whose settings are missing: 503

Lower layers keep their own trees, translated where they are caught:
connectors.errors.ConnectorError (-> an ephemeral Slack message), agents.errors.AgentError
(-> "the assistant could not answer"), policies.errors.PolicyError (-> fatal at start-up,
"last good policy kept" on reload).
"""

from __future__ import annotations


class SwitchboardError(Exception):
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(SwitchboardError):
    status = 400


class PayloadTooLarge(BadRequest):
    status = 413


class Unauthorized(SwitchboardError):
    status = 401


class NotConfigured(SwitchboardError):
    status = 503
