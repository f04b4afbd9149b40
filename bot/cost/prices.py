"""What a model call cost: the bundled list prices, overridden by the policy file's `prices:`.

Money is counted in integer nano-dollars (USD x 1e9): a token of gpt-4o-mini input
costs 150 nano-dollars, so sums are exact on SQLite and PostgreSQL alike and
never drift the way floats do. Prices given to $0.001 per million tokens are exact.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from policies.policy_file import ModelPrice

NANOS_PER_USD = 10**9
_NANOS_PER_TOKEN_PER_USD_PER_1M = Decimal(NANOS_PER_USD) / Decimal(10**6)
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")  # gpt-4o-2024-08-06, claude-…-20250929
PRICES_FILE = Path(__file__).with_name("prices.yaml")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input_per_1m: Decimal
    output_per_1m: Decimal

    @classmethod
    def of(cls, p: ModelPrice) -> Price:
        # via str: 0.15 stays 0.15, not 0.1499999999999999944488848768742172978818416595458984375
        return cls(Decimal(str(p.input_per_1m)), Decimal(str(p.output_per_1m)))

    def nanos(self, input_tokens: int, output_tokens: int) -> int:
        exact = (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) \
            * _NANOS_PER_TOKEN_PER_USD_PER_1M
        return int(exact.to_integral_value(ROUND_HALF_EVEN))


@lru_cache(maxsize=1)
def bundled_prices() -> Mapping[str, ModelPrice]:
    """bot/cost/prices.yaml, read once on first use (never at import)."""
    data = yaml.safe_load(PRICES_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): ModelPrice.model_validate(v) for k, v in data.items()}


class PriceTable:
    """Looks a model up by the id agno reports, with the provider of the spec that ran it.

    Order: `provider:model`, then `model`, then the undated id of a dated snapshot, then the
    most specific glob key (`claude-sonnet-4*`, `ollama:*`). Overrides beat bundled prices
    at every step.
    """

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None,
                 base: Mapping[str, ModelPrice] | None = None) -> None:
        merged = {**(bundled_prices() if base is None else base), **(overrides or {})}
        self._exact = {k: Price.of(v) for k, v in merged.items() if "*" not in k}
        globs = sorted((k for k in merged if "*" in k), key=len, reverse=True)
        self._globs = [(k, Price.of(merged[k])) for k in globs]

    def lookup(self, model: str, provider: str | None = None) -> Price | None:
        ids = dict.fromkeys([model, _DATED.sub("", model)])  # the id, then its undated form
        names = [q for i in ids for q in ([f"{provider}:{i}"] if provider else []) + [i]]
        for name in names:
            if name in self._exact:
                return self._exact[name]
        for pattern, price in self._globs:
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return price
        return None


def provider_of(spec: str) -> str:
    """`openai:gpt-4o` -> `openai`; `offline` -> `offline`."""
    return spec.partition(":")[0].strip().lower()


def usd(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD
