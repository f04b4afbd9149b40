"""A deterministic, network-free agno model: the default, so the hub runs with no credentials.

It is a real agno `Model`, so teams, tools and hooks run exactly as they do
with a provider: the leader routes by keywords, a member calls the tools its
intent rules pick, and then answers from what the tools returned.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from uuid import uuid4

from agno.metrics import MessageMetrics
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

from agents.present import humanize
from agents.rules import IntentRule, PlanRule, RouteRule

DELEGATE = "delegate_task_to_member"


class OfflineModel(Model):
    def __init__(self, routes: Sequence[RouteRule] = (), intents: Sequence[IntentRule] = (),
                 plans: Sequence[PlanRule] = (), fallback_member: str = "analyst") -> None:
        super().__init__(id="offline", name="Offline", provider="Switchboard")
        self._routes = tuple(routes)
        self._intents = tuple(intents)
        self._plans = tuple(plans)
        self._fallback_member = fallback_member

    # agno's provider interface ------------------------------------------------
    def invoke(self, messages: list[Message], tools: list[dict[str, Any]] | None = None,
               **_: Any) -> ModelResponse:
        return self._respond(messages, tools or [])

    async def ainvoke(self, messages: list[Message], tools: list[dict[str, Any]] | None = None,
                      **_: Any) -> ModelResponse:
        return self._respond(messages, tools or [])

    def invoke_stream(self, messages: list[Message], tools: list[dict[str, Any]] | None = None,
                      **_: Any) -> Iterator[ModelResponse]:
        yield self._respond(messages, tools or [])

    async def ainvoke_stream(
        self, messages: list[Message], tools: list[dict[str, Any]] | None = None, **_: Any
    ) -> AsyncIterator[ModelResponse]:
        yield self._respond(messages, tools or [])

    def _parse_provider_response(self, response: Any, **_: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]

    # the deterministic brain ------------------------------------------------------
    def _respond(self, messages: list[Message], tools: list[dict[str, Any]]) -> ModelResponse:
        offered = {_tool_name(t) for t in tools}
        task = _last_user_text(messages)
        results = _tool_results_since_user(messages)
        if DELEGATE in offered:
            step = self._plan_step(task, results)
            if step is not None:
                member, subtask = step
                return _call(messages, DELEGATE, {"member_id": member, "task": subtask})
            if not results:
                return _call(messages, DELEGATE, {"member_id": self._route(task), "task": task})
        if results:
            return _answer(messages, "\n\n".join(humanize(r) for r in results))
        for rule in self._intents:
            match = rule.pattern.search(task)
            if match and rule.tool in offered:
                return _call(messages, rule.tool, rule.args(match))
        return _answer(messages, (
            f"I'm running without a language model (SWITCHBOARD_MODEL=offline), so I can act "
            f"only on clear requests like “show INC0010001”. You asked: “{task}”. "
            "Try `help` for the commands I know."))

    def _plan_step(self, task: str, results: list[str]) -> tuple[str, str] | None:
        for plan in self._plans:
            match = plan.pattern.search(task)
            if match:
                done = len(results)
                return plan.steps[done](match, results) if done < len(plan.steps) else None
        return None

    def _route(self, task: str) -> str:
        for rule in self._routes:
            if rule.pattern.search(task):
                return rule.member
        return self._fallback_member


def _tool_name(tool: dict[str, Any]) -> str:
    fn = tool.get("function")
    return str(fn.get("name", "")) if isinstance(fn, dict) else str(tool.get("name", ""))


def _last_user_text(messages: list[Message]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            return m.get_content_string().strip()
    return ""


def _tool_results_since_user(messages: list[Message]) -> list[str]:
    out: list[str] = []
    for m in reversed(messages):
        if m.role == "user":
            break
        if m.role == "tool":
            out.append(m.get_content_string())
    return list(reversed(out))


def _usage(messages: list[Message], output: str) -> MessageMetrics:
    # A stand-in token count (words) so the ledger and metrics paths run offline too.
    words_in = sum(len(m.get_content_string().split()) for m in messages)
    words_out = len(output.split())
    return MessageMetrics(input_tokens=words_in, output_tokens=words_out,
                          total_tokens=words_in + words_out)


def _answer(messages: list[Message], text: str) -> ModelResponse:
    return ModelResponse(role="assistant", content=text, response_usage=_usage(messages, text))


def _call(messages: list[Message], tool: str, args: dict[str, Any]) -> ModelResponse:
    arguments = json.dumps(args)
    call = {"id": f"call_{uuid4().hex[:12]}", "type": "function",
            "function": {"name": tool, "arguments": arguments}}
    return ModelResponse(role="assistant", content=None, tool_calls=[call],
                         response_usage=_usage(messages, arguments))
