"""Price lookup and arithmetic: exact, never a crash for an unknown model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.cost.prices import Price, PriceTable, bundled_prices, provider_of
from policies.policy_file import ModelPrice


@pytest.mark.parametrize(("model", "provider", "expected"), [
    ("gpt-4o-mini", "openai", ("0.15", "0.6")),
    ("gpt-4o", "openai", ("2.5", "10.0")),
    ("gpt-4o-2024-08-06", "openai", ("2.5", "10.0")),      # dated snapshot -> undated id
    ("gpt-4.1-mini", None, ("0.4", "1.6")),
    ("claude-sonnet-4-5-20250929", "anthropic", ("3.0", "15.0")),
    ("claude-sonnet-4-20250514", "anthropic", ("3.0", "15.0")),  # glob claude-sonnet-4*
    ("claude-3-5-haiku-20241022", "anthropic", ("0.8", "4.0")),
    ("claude-haiku-4-5", "anthropic", ("1.0", "5.0")),
    ("llama3.1:8b", "ollama", ("0.0", "0.0")),               # ollama:* glob: local, free
    ("offline", "offline", ("0.0", "0.0")),
])
def test_bundled_prices_match_model_ids_as_agno_reports_them(model, provider, expected) -> None:
    price = PriceTable().lookup(model, provider)
    assert price == Price(Decimal(expected[0]), Decimal(expected[1]))


def test_unknown_model_has_no_price() -> None:
    assert PriceTable().lookup("mystery-model-9", "openai") is None


def test_policy_overrides_beat_bundled_prices_and_provider_keys_beat_bare_ids() -> None:
    table = PriceTable({"gpt-4o": ModelPrice(input_per_1m=1, output_per_1m=2),
                        "azure:gpt-4o": ModelPrice(input_per_1m=3, output_per_1m=4),
                        "mystery*": ModelPrice(input_per_1m=5, output_per_1m=6)})
    assert table.lookup("gpt-4o", "openai") == Price(Decimal("1.0"), Decimal("2.0"))
    assert table.lookup("gpt-4o", "azure") == Price(Decimal("3.0"), Decimal("4.0"))
    assert table.lookup("mystery-model-9") == Price(Decimal("5.0"), Decimal("6.0"))


def test_nanos_are_exact() -> None:
    mini = Price(Decimal("0.15"), Decimal("0.60"))
    assert mini.nanos(1, 0) == 150
    assert mini.nanos(1_000_000, 1_000_000) == 750_000_000  # $0.75
    assert Price(Decimal("0.075"), Decimal(0)).nanos(3, 0) == 225


def test_every_bundled_price_is_valid_and_offline_is_free() -> None:
    prices = bundled_prices()
    assert prices["offline"] == ModelPrice(input_per_1m=0, output_per_1m=0)
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "ollama:*"} <= set(prices)


def test_provider_of_a_spec() -> None:
    assert provider_of("openai:gpt-4o") == "openai"
    assert provider_of("offline") == "offline"
