"""Usage -> priced ledger rows charged to the asker; an unknown model costs $0 and is logged once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cost.ledger import Ledger, spend_by
from bot.cost.recorder import UsageRecorder
from bot.metrics import Metrics
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from policies.store import PolicyStore
from policies.types import Principal, Request, Source

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    model: str
    input_tokens: int
    output_tokens: int


def request(user: str) -> Request:
    return Request(id="req-1", source=Source.MENTION, principal=Principal(user), text="hi",
                   channel="C0OPS")


@pytest.fixture
def store(tmp_path: Path) -> PolicyStore:
    path = tmp_path / "policy.yaml"
    path.write_text("people:\n  U0ALICE: {department: engineering, project: apollo}\n"
                    "prices:\n  house-model: {input_per_1m: 1, output_per_1m: 3}\n")
    s = PolicyStore(str(path))
    s.load()
    return s


async def test_rows_are_priced_and_charged_to_the_askers_department(
        store: PolicyStore, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    await asyncio.to_thread(upgrade, sqlite_url)
    db = Database(sqlite_url)
    metrics = Metrics()
    recorder = UsageRecorder(Ledger(db, clock=lambda: NOW), store, metrics, "openai:gpt-4o",
                             clock=lambda: NOW)
    usage = [Usage("gpt-4o", 1000, 200), Usage("house-model", 10, 10),
             Usage("mystery-9", 500, 500), Usage("mystery-9", 1, 1)]
    with caplog.at_level(logging.WARNING, logger="bot.cost.recorder"):
        await recorder(request("U0ALICE"), usage)
        await recorder(request("U0STRANGER"), [Usage("mystery-9", 5, 5)])
    try:
        rows = await spend_by(db, NOW.replace(day=1), NOW.replace(month=12, day=1), "model")
        by_dept = await spend_by(db, NOW.replace(day=1), NOW.replace(month=12, day=1),
                                 "department")
    finally:
        await db.dispose()
    assert {k: str(u) for k, u, _, _ in rows} == {
        "gpt-4o": "0.0045", "house-model": "0.00004", "mystery-9": "0"}
    assert [(k, i) for k, _, i, _ in by_dept] == [("engineering", 1511), ("(none)", 5)]
    warnings = [r for r in caplog.records if "mystery-9" in r.getMessage()]
    assert len(warnings) == 1  # once per model, however often it runs
    text = metrics.render().decode()
    assert 'switchboard_llm_unpriced_calls_total{model="mystery-9"} 3.0' in text
    assert 'switchboard_llm_tokens_total{department="none",direction="input",' \
           'model="mystery-9"} 5.0' in text


async def test_a_ledger_outage_never_fails_the_answer(store: PolicyStore, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    db = Database(f"sqlite:///{tmp_path / 'never-migrated.db'}")  # no llm_usage table
    recorder = UsageRecorder(Ledger(db), store, Metrics(), "openai:gpt-4o")
    try:
        await recorder(request("U0ALICE"), [Usage("gpt-4o", 1, 1)])
    finally:
        await db.dispose()
    assert "could not write 1 cost-ledger row(s) for req-1" in caplog.text
