"""The Slack surface: the only place slack_bolt and slack_sdk are imported."""
