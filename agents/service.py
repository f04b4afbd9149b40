"""The agent entry point the hub calls: one question in, one answer and its token usage out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.errors import AgentError, AgentTimeout
from agents.models import ModelConfig

if TYPE_CHECKING:
    from agno.team import Team

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentQuery:
    text: str
    user_id: str
    session_id: str  # one per Slack thread: the team remembers the thread


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
    """Builds the team lazily (agno is imported on first use, not at hub start-up)."""

    def __init__(self, config: ModelConfig, tools: Mapping[str, Sequence[Any]] | None = None,
                 run_timeout: float = 120.0) -> None:
        self._config = config
        self._tools = tools or {}
        self._timeout = run_timeout
        self._team: Team | None = None

    def team(self) -> Team:
        if self._team is None:
            from agents.models import build_model
            from agents.team import build_ops_team

            self._team = build_ops_team(
                lambda routes, intents: build_model(self._config, routes, intents), self._tools)
        return self._team

    async def ask(self, query: AgentQuery) -> AgentAnswer:
        team = self.team()
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
        if getattr(run, "status", None) is not None and str(run.status).lower().endswith("error"):
            raise AgentError(str(run.content or "the model provider failed"))
        return AgentAnswer(text=str(run.content or "").strip(), usage=usage_of(run))


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
