"""A fake OpenAI Chat Completions server with scripted replies and usage figures.

The real ``openai`` client (and agno's ``OpenAIChat`` on top of it) talks to it
over HTTP, so agent tests exercise the real model class and the real wire
format. Shapes follow the documented ``POST /v1/chat/completions`` response
(``chat.completion``) and, for ``"stream": true``, the ``chat.completion.chunk``
SSE stream with a final usage chunk when ``stream_options.include_usage`` is set.
agno's ``Agent.arun``/``Team.arun`` without ``stream=True`` use the non-streaming
call; both are served.

    with FakeOpenAI() as fake:
        fake.script(Reply.tool_call("lookup", {"key": "OPS-1"}), Reply.text("done"))
        fake.script(Reply.calls(("a", {}), ("b", {"x": 1})))  # parallel tool calls
        model = OpenAIChat(id="gpt-4o-mini", base_url=fake.url, api_key="test")
        ...
        assert fake.requests[0]["model"] == "gpt-4o-mini"
        fake.fail_next(429)  # the next request gets a rate-limit error
        fake.reported_usage()  # {"gpt-4o-mini": (prompt_tokens, completion_tokens)}

Replies are served first-in, first-out; a reply scripted with ``when=`` is only
served to a request the predicate accepts (see ``offers_tool``, ``system_contains``,
``model_is``), so a team's leader and members can be scripted independently.
An empty queue answers with ``default`` (``None``: a 500 naming the request).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Response

Body = dict[str, Any]
Predicate = Callable[[Body], bool]
PATH = r"/v1/chat/completions"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text or tool calls, and the usage the fake reports for it."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 10
    completion_tokens: int = 5
    when: Predicate | None = None
    delay: float = 0.0  # seconds before answering (timeout tests)

    @classmethod
    def text(cls, content: str, *, prompt_tokens: int = 10, completion_tokens: int = 5,
             when: Predicate | None = None, delay: float = 0.0) -> Reply:
        return cls(content, (), prompt_tokens, completion_tokens, when, delay)

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | None = None, *,
                  prompt_tokens: int = 10, completion_tokens: int = 5,
                  when: Predicate | None = None, delay: float = 0.0) -> Reply:
        return cls(None, (ToolCall(name, arguments or {}),), prompt_tokens, completion_tokens,
                   when, delay)

    @classmethod
    def calls(cls, *calls: tuple[str, dict[str, Any]], prompt_tokens: int = 10,
                   completion_tokens: int = 5, when: Predicate | None = None) -> Reply:
        """Several tool calls in one assistant message (parallel tool calls)."""
        return cls(None, tuple(ToolCall(n, a) for n, a in calls), prompt_tokens,
                   completion_tokens, when)

    def accepts(self, body: Body) -> bool:
        return self.when is None or self.when(body)


# -- predicates for routing scripted replies ----------------------------------------------------

def offered_tools(body: Body) -> list[str]:
    return [t.get("function", {}).get("name", "") for t in body.get("tools") or []]


def offers_tool(name: str) -> Predicate:
    return lambda body: name in offered_tools(body)


def system_prompt(body: Body) -> str:
    parts = [m.get("content") for m in body.get("messages", [])
             if m.get("role") in ("system", "developer")]
    return "\n".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


def system_contains(text: str) -> Predicate:
    return lambda body: text.lower() in system_prompt(body).lower()


def model_is(model: str) -> Predicate:
    return lambda body: body.get("model") == model


def last_user_message(body: Body) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else json.dumps(content)


class FakeOpenAI:
    """``with FakeOpenAI() as fake:``; ``fake.url`` is the client's base URL (ends in ``/v1``)."""

    def __init__(self, default: Reply | None = Reply.text("ok")) -> None:
        self.default = default
        self.server = FakeServer()
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.served: list[tuple[str, Reply]] = []  # (requested model, reply) as answered
        self.server.route("POST", PATH)(self._complete)

    # -- scripting -----------------------------------------------------------
    def script(self, *replies: Reply, when: Predicate | None = None) -> FakeOpenAI:
        """Queue replies; ``when`` applies to those scripted without their own predicate."""
        with self._lock:
            for r in replies:
                self._queue.append(r if r.when or when is None else _with_when(r, when))
        return self

    def fail_next(self, status: int = 429, body: Any = None,
                  headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with an error (429 and 5xx are retried by openai)."""
        if body is None:
            body = {"error": {"message": _ERRORS.get(status, "fake failure"),
                              "type": "rate_limit_error" if status == 429 else "server_error",
                              "param": None, "code": "rate_limit_exceeded" if status == 429 else None}}
        # retry-after-ms keeps the openai client's retry wait tiny in tests
        hdrs = {"retry-after-ms": "1"} if headers is None else headers
        self.server.fail_next("POST", PATH, *[Response(status, body, hdrs) for _ in range(times)])

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- what was asked ------------------------------------------------------
    @property
    def recorded(self) -> list[Recorded]:
        return self.server.calls("POST", PATH)

    @property
    def requests(self) -> list[Body]:
        """Every chat-completion request body, in arrival order (failed ones too)."""
        return [r.json() for r in self.recorded]

    @property
    def models(self) -> list[str]:
        return [str(b.get("model")) for b in self.requests]

    def reported_usage(self) -> dict[str, tuple[int, int]]:
        """(prompt_tokens, completion_tokens) the fake reported, per requested model."""
        out: dict[str, tuple[int, int]] = {}
        for model, r in self.served:
            tin, tout = out.get(model, (0, 0))
            out[model] = (tin + r.prompt_tokens, tout + r.completion_tokens)
        return out

    def sent_text(self) -> str:
        """Everything sent to the "provider", for asserting a secret never left the hub."""
        return "\n".join(r.body.decode(errors="replace") for r in self.recorded)

    # -- serving -------------------------------------------------------------
    def _take(self, body: Body) -> Reply | None:
        with self._lock:
            for i, r in enumerate(self._queue):
                if r.accepts(body):
                    return self._queue.pop(i)
        return self.default

    def _complete(self, rec: Recorded, _m: re.Match[str]) -> Response:
        try:
            body = rec.json()
        except ValueError:
            return Response(400, _error("request body is not JSON", "invalid_request_error"))
        if not isinstance(body, dict) or not body.get("model") or "messages" not in body:
            return Response(400, _error("'model' and 'messages' are required",
                                        "invalid_request_error"))
        reply = self._take(body)
        if reply is None:
            return Response(500, _error(f"no scripted reply for: {last_user_message(body)[:200]}",
                                        "server_error"))
        with self._lock:
            self.served.append((str(body["model"]), reply))
        cid = f"chatcmpl-fake{next(self._ids):06d}"
        calls = [(f"call_{next(self._ids):06d}", c) for c in reply.tool_calls]
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            sse = "".join(f"data: {json.dumps(c)}\n\n"
                          for c in _chunks(cid, body["model"], reply, calls, usage))
            return Response(200, sse + "data: [DONE]\n\n",
                            {"Content-Type": "text/event-stream"}, delay=reply.delay)
        return Response(200, _completion(cid, body["model"], reply, calls), delay=reply.delay)

    # -- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.server.url}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


_ERRORS = {429: "Rate limit reached for requests", 500: "The server had an error",
           503: "The engine is currently overloaded"}


def _with_when(r: Reply, when: Predicate) -> Reply:
    return Reply(r.content, r.tool_calls, r.prompt_tokens, r.completion_tokens, when, r.delay)


def _error(message: str, kind: str) -> Body:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _usage(reply: Reply) -> Body:
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens}


def _finish(calls: list[tuple[str, ToolCall]]) -> str:
    return "tool_calls" if calls else "stop"


def _completion(cid: str, model: str, reply: Reply, calls: list[tuple[str, ToolCall]]) -> Body:
    message: Body = {"role": "assistant", "content": reply.content, "refusal": None}
    if calls:
        message["tool_calls"] = [
            {"id": i, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for i, c in calls]
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _finish(calls)}],
            "usage": _usage(reply)}


def _chunks(cid: str, model: str, reply: Reply, calls: list[tuple[str, ToolCall]],
            include_usage: bool) -> Iterable[Body]:
    def chunk(delta: Body, finish: str | None = None) -> Body:
        return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": "" if reply.content is not None else None})
    if reply.content:
        # two deltas, so a client that only keeps the last delta is caught
        half = len(reply.content) // 2
        for part in (reply.content[:half], reply.content[half:]):
            if part:
                yield chunk({"content": part})
    for index, (call_id, c) in enumerate(calls):
        yield chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                     "function": {"name": c.name, "arguments": ""}}]})
        yield chunk({"tool_calls": [{"index": index,
                                     "function": {"arguments": json.dumps(c.arguments)}}]})
    yield chunk({}, _finish(calls))
    if include_usage:
        yield {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
               "model": model, "system_fingerprint": "fp_fake", "choices": [],
               "usage": _usage(reply)}
