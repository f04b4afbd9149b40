"""After each agent answer: price every model's tokens, charge them to the asker, count them.

One ledger row per `Usage` (the team leader and each member run), with department and
project from the policy file's `people:` as they are at the time of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from bot.cost.ledger import Ledger, UsageRow
from bot.cost.prices import PriceTable, provider_of, usd
from bot.metrics import Metrics
from policies.store import PolicyStore
from policies.types import Request

log = logging.getLogger(__name__)


class UsageLike(Protocol):
    """agents.service.Usage, structurally (the ledger needs no agno import)."""

    @property
    def model(self) -> str: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


class UsageRecorder:
    def __init__(self, ledger: Ledger, store: PolicyStore, metrics: Metrics, default_spec: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._ledger = ledger
        self._store = store
        self._metrics = metrics
        self._default_spec = default_spec  # SWITCHBOARD_MODEL: its provider prices the ids
        self._clock = clock or (lambda: datetime.now(UTC))
        self._unpriced: set[str] = set()

    def rows(self, request: Request, usage: Sequence[UsageLike],
             spec: str | None = None) -> list[UsageRow]:
        file = self._store.current.file
        person = file.people.get(request.principal.user_id)
        table = PriceTable(file.prices)
        provider = provider_of(spec or self._default_spec)
        at = self._clock()
        out = []
        for u in usage:
            price = table.lookup(u.model, provider)
            if price is None:
                self._warn_unpriced(u.model)
            out.append(UsageRow(
                request_id=request.id, user_id=request.principal.user_id,
                department=person.department if person else None,
                project=person.project if person else None, channel=request.channel,
                model=u.model, input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                cost_nanos=price.nanos(u.input_tokens, u.output_tokens) if price else 0, at=at))
        return out

    async def __call__(self, request: Request, usage: Sequence[UsageLike],
                       spec: str | None = None) -> None:
        """Never raises: the person gets their answer even if the ledger is unreachable."""
        rows = self.rows(request, usage, spec)
        for r in rows:
            self._metrics.llm_usage(r.model, r.department, r.input_tokens, r.output_tokens,
                                    float(usd(r.cost_nanos)))
        try:
            await self._ledger.record(rows)
        except Exception:
            log.exception("could not write %d cost-ledger row(s) for %s", len(rows), request.id)

    def _warn_unpriced(self, model: str) -> None:
        self._metrics.llm_unpriced_total.labels(model).inc()
        if model not in self._unpriced:
            self._unpriced.add(model)
            log.warning("no price for model %r: its tokens are counted at $0 (add it under "
                        "`prices:` in the policy file)", model)
