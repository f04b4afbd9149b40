"""The hub's side of the agent path: Request in, Reply out, failures worded for Slack.

Every question gets its own fenced tools: the ToolGate checks each call
against the asking person's permissions and passes arguments and results
through DLP; writes are held for approval in Slack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from agents.errors import AgentError
from agents.guard import Approval, Asker, ToolGate
from agents.service import AgentAnswer, AgentQuery, AgentService, Usage
from agents.tools import ToolSpec
from bot import messages
from policies.chain import DecisionSink
from policies.store import PolicyStore
from policies.types import Reply, Request

# (request, usage per model run, the model spec it ran on when not the default)
UsageSink = Callable[[Request, Sequence[Usage], str | None], Awaitable[None]]


class AgentGateway:
    def __init__(self, service: AgentService, tools: Mapping[str, ToolSpec], store: PolicyStore,
                 record: DecisionSink, approve: Approval, *,
                 on_usage: UsageSink | None = None) -> None:
        self._service = service
        self._on_usage = on_usage  # the cost ledger (bot/cost/recorder.py)
        self._tools = tools
        self._store = store
        self._record = record
        self._approve = approve

    async def __call__(self, request: Request) -> Reply:
        question = request.route.args if request.route else request.text
        if not question.strip():
            return Reply.error("Ask me something after the command, e.g. "
                               "`ask what is open on INC0010001?`")
        thread = request.thread_ts or request.id
        model = request.payload.get("model")  # a budget may downgrade the model
        query = AgentQuery(text=question, user_id=request.principal.user_id,
                           session_id=f"{request.channel}:{thread}",
                           model=str(model) if model else None)
        try:
            answer = await self._service.ask(query, self._fenced_tools(request))
        except AgentError as e:
            return Reply.error(messages.agent_failed(e.message))
        await self.on_answer(request, answer)
        return Reply(answer.text or "(no answer)", visibility="thread")

    def _fenced_tools(self, request: Request) -> dict[str, list[object]]:
        policy = self._store.current
        asker = Asker(request.principal, request.channel, request.thread_ts, request.id)
        gate = ToolGate(asker, policy.rbac, policy.dlp,
                        lambda decision: self._record(request, decision), self._approve)
        return gate.tools_by_member(self._tools)

    async def on_answer(self, request: Request, answer: AgentAnswer) -> None:
        """Hook for what follows an answer (the cost ledger records usage here)."""
        if self._on_usage is not None and answer.usage:
            model = request.payload.get("model")
            await self._on_usage(request, answer.usage, str(model) if model else None)
