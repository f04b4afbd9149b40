"""The agent entry point the hub calls: one question in, one answer and its token usage out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agents.errors import AgentError, AgentTimeout
from agents.models import ModelConfig

if TYPE_CHECKING:
    from agno.db.base import AsyncBaseDb
    from agno.models.base import Model
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
HISTORY_RUNS = 4  # earlier turns of the same Slack thread the team sees


@dataclass(frozen=True)
class AgentQuery:
    text: str
    user_id: str
    session_id: str  # one per Slack thread: the team remembers the thread
    model: str | None = None  # a model spec overriding the default (budget downgrade)


@dataclass(frozen=True)
class Usage:
    model: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class AgentAnswer:
    text: str
    usage: tuple[Usage, ...]


class AgentService:
    """Builds a team per question (cheap: microseconds) around that question's fenced tools.

    agno is imported on first use, not when the hub starts.
    """

    def __init__(self, config: ModelConfig, *, run_timeout: float = 120.0,
                 memory: AsyncEngine | None = None, fallbacks: Sequence[str] = ()) -> None:
        self._config = config
        self._timeout = run_timeout
        self._memory_engine = memory
        self._fallbacks = tuple(fallbacks)
        self._models: dict[tuple[str, str], Model] = {}
        self._db: AsyncBaseDb | None = None

    async def ask(self, query: AgentQuery, tools: Mapping[str, Sequence[Any]]) -> AgentAnswer:
        from agents.team import build_ops_team, choose_mode

        spec = query.model or self._config.spec
        options: dict[str, Any] = {}
        if self._memory_engine is not None:
            options.update(db=self._memory(), add_history_to_context=True,
                           num_history_runs=HISTORY_RUNS)
        fallback = self._fallback_config()
        if fallback is not None:
            options["fallback_config"] = fallback
        team = build_ops_team(lambda role: self._model(spec, role), tools,
                              choose_mode(query.text), **options)
        try:
            run = await asyncio.wait_for(
                team.arun(query.text, user_id=query.user_id, session_id=query.session_id),
                timeout=self._timeout)
        except TimeoutError as e:
            raise AgentTimeout(f"no answer within {self._timeout:.0f} seconds") from e
        except AgentError:
            raise
        except Exception as e:
            log.exception("agent run failed")
            raise AgentError(f"the model provider failed ({type(e).__name__})") from e
        if str(getattr(run, "status", "")).lower().endswith("error"):
            raise AgentError(_provider_message(run.content))
        return AgentAnswer(text=str(run.content or "").strip(), usage=usage_of(run))

    def _model(self, spec: str, role: str) -> Model:
        """Models are reused across questions (they hold HTTP clients); one per spec and role."""
        key = (spec, "leader" if role == "leader" else "member")
        if key not in self._models:
            from agents.intents import intents, plans
            from agents.models import build_model
            from agents.team import route_rules

            config = replace(self._config, spec=spec)
            self._models[key] = (build_model(config, route_rules(), (), plans())
                                 if key[1] == "leader" else build_model(config, (), intents()))
        return self._models[key]

    def _memory(self) -> AsyncBaseDb:
        if self._db is None:
            from agents.memory import agent_db

            assert self._memory_engine is not None
            self._db = agent_db(self._memory_engine)
        return self._db

    def _fallback_config(self) -> Any:
        if not self._fallbacks:
            return None
        from agno.models.fallback import FallbackConfig

        from agents.models import build_model

        models: list[Model | str] = [build_model(replace(self._config, spec=s))
                                     for s in self._fallbacks]
        return FallbackConfig(on_error=models, on_rate_limit=models)


def _provider_message(content: Any) -> str:
    text = str(content or "").strip()
    return text[:300] if text else "the model provider failed"


def usage_of(run: Any) -> tuple[Usage, ...]:
    """Token usage of the leader and every member run, per model."""
    out: list[Usage] = []
    for r in [run, *(getattr(run, "member_responses", None) or [])]:
        m = getattr(r, "metrics", None)
        if m is None:
            continue
        model = str(getattr(r, "model", None) or "unknown")
        out.append(Usage(model, int(m.input_tokens or 0), int(m.output_tokens or 0)))
    return tuple(u for u in out if u.input_tokens or u.output_tokens)
