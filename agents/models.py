"""Model selection from SWITCHBOARD_MODEL: `offline`, `openai:gpt-4o`, `anthropic:…`, `ollama:…`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.errors import AgentError
from agents.rules import IntentRule, PlanRule, RouteRule

if TYPE_CHECKING:  # agno loads when the first model is built, not at hub start-up
    from agno.models.base import Model


@dataclass(frozen=True)
class ModelConfig:
    spec: str = "offline"
    openai_base_url: str | None = None  # any OpenAI-compatible server
    openai_api_key: str | None = None
    timeout: float = 60.0


def build_model(config: ModelConfig, routes: tuple[RouteRule, ...] = (),
                intents: tuple[IntentRule, ...] = (), plans: tuple[PlanRule, ...] = ()) -> Model:
    provider, _, name = config.spec.partition(":")
    provider = provider.strip().lower()
    if provider == "offline":
        from agents.offline import OfflineModel

        return OfflineModel(routes=routes, intents=intents, plans=plans)
    if not name:
        raise AgentError(f"SWITCHBOARD_MODEL={config.spec!r} needs a model name, e.g. openai:gpt-4o")
    if provider == "openai":
        from agno.models.openai import OpenAIChat

        return OpenAIChat(id=name, base_url=config.openai_base_url,
                          api_key=config.openai_api_key or "unset", timeout=config.timeout,
                          max_retries=1)
    if provider == "anthropic":
        from agno.models.anthropic import Claude

        return Claude(id=name, timeout=config.timeout)
    if provider == "ollama":
        from agno.models.ollama import Ollama

        return Ollama(id=name)
    raise AgentError(f"unknown model provider {provider!r} in SWITCHBOARD_MODEL "
                     "(use offline, openai:…, anthropic:… or ollama:…)")
