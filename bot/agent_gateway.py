"""The hub's side of the agent path: Request in, Reply out, failures worded for Slack."""

from __future__ import annotations

from agents.errors import AgentError
from agents.service import AgentQuery, AgentService
from bot import messages
from policies.types import Reply, Request


class AgentGateway:
    def __init__(self, service: AgentService) -> None:
        self._service = service

    async def __call__(self, request: Request) -> Reply:
        question = request.route.args if request.route else request.text
        if not question.strip():
            return Reply.error("Ask me something after the command, e.g. "
                               "`ask what is open on INC0010001?`")
        thread = request.thread_ts or request.id
        query = AgentQuery(text=question, user_id=request.principal.user_id,
                           session_id=f"{request.channel}:{thread}")
        try:
            answer = await self._service.ask(query)
        except AgentError as e:
            return Reply.error(messages.agent_failed(e.message))
        return Reply(answer.text or "(no answer)", visibility="thread")
