"""User-facing wording of the hub, in one place."""

from __future__ import annotations

SLACK_NOT_CONFIGURED = "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET."
BAD_SIGNATURE = "invalid or missing Slack signature"
STALE_TIMESTAMP = "stale or missing X-Slack-Request-Timestamp (more than 5 minutes off)"
BODY_TOO_LARGE = "request body too large"
WORKING = ":hourglass_flowing_sand: Working on it…"


def internal_error(ref: str) -> str:
    return (f":warning: Something went wrong on my side and I could not finish this. "
            f"An operator can look it up by reference `{ref}`.")


def agent_failed(reason: str) -> str:
    return f":warning: The assistant could not answer: {reason}"
