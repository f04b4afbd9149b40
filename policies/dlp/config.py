"""The `dlp:` section of the policy file.

```yaml
dlp:
  rules: {payment_card: block, us_ssn: block, iban: block, secret: block,
          email: redact, phone: redact}
  allow: ["*@example.com"]          # globs on the found value, case-insensitive
  channels:
    C0SECOPS1: {secret: redact}     # per-channel overrides of `rules`
```

Rules given in the file are laid over the defaults, so a file that mentions
only `email: allow` still blocks cards: leaving a kind out never disables it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

Action = Literal["block", "redact", "allow"]

# Every kind a Finding can carry, in the order summaries list them.
KINDS: tuple[str, ...] = ("payment_card", "us_ssn", "iban", "secret", "email", "phone")

DEFAULT_RULES: MappingProxyType[str, Action] = MappingProxyType(
    {
        "payment_card": "block",
        "us_ssn": "block",
        "iban": "block",
        "secret": "block",
        "email": "redact",
        "phone": "redact",
    }
)


def _check_kinds(names: dict[str, Action], where: str) -> None:
    unknown = sorted(set(names) - set(KINDS))
    if unknown:
        raise ValueError(
            f"unknown DLP rule {', '.join(map(repr, unknown))} in {where}; known kinds: {', '.join(KINDS)}"
        )


class DlpConfig(BaseModel):
    """What DLP does with each kind of finding, globally and per channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, Action] = dict(DEFAULT_RULES)
    allow: list[str] = []  # glob allowlist on found values, e.g. "*@example.com"
    channels: dict[str, dict[str, Action]] = {}  # channel id -> per-kind overrides

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, v: dict[str, Action]) -> dict[str, Action]:
        _check_kinds(v, "rules")
        return {**DEFAULT_RULES, **v}

    @field_validator("channels")
    @classmethod
    def _known_channel_rules(cls, v: dict[str, dict[str, Action]]) -> dict[str, dict[str, Action]]:
        for channel, overrides in v.items():
            _check_kinds(overrides, f"channels.{channel}")
        return v

    @field_validator("allow")
    @classmethod
    def _non_empty_globs(cls, v: list[str]) -> list[str]:
        # An empty or all-"*" glob would silently switch DLP off.
        bad = [g for g in v if not g.strip("*? ")]
        if bad:
            raise ValueError(f"allow patterns {bad!r} match every value; name what to allow")
        return v
