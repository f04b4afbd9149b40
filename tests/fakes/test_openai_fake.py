"""The fake OpenAI server, driven by the real openai client and by real agno."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from agno.agent import Agent
from agno.models.openai import OpenAIChat
from agno.run.agent import RunOutput

from tests.fakes.openai import FakeOpenAI, Reply, offers_tool, system_contains


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as f:
        yield f


def client(fake: FakeOpenAI, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key="test", max_retries=retries, timeout=5)


def test_text_reply_echoes_model_and_reports_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply.text("hello there", prompt_tokens=123, completion_tokens=45))
    out = client(fake).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert out.model == "gpt-4o-mini"
    assert out.choices[0].message.content == "hello there"
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (
        123, 45, 168)
    assert fake.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_several_tool_calls_in_one_reply(fake: FakeOpenAI) -> None:
    fake.script(Reply.calls(("a", {"x": 1}), ("b", {"y": "z"})))
    out = client(fake).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "go"}])
    calls = out.choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("a", '{"x": 1}'), ("b", '{"y": "z"}')]
    assert len({c.id for c in calls}) == 2
    assert out.choices[0].finish_reason == "tool_calls"


def test_stream_with_usage_chunk(fake: FakeOpenAI) -> None:
    fake.script(Reply.text("streamed answer", prompt_tokens=7, completion_tokens=3))
    stream = client(fake).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed answer"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 7


def test_routing_by_predicate_and_default(fake: FakeOpenAI) -> None:
    fake.default = Reply.text("fallback")
    fake.script(Reply.text("for the jira agent", when=offers_tool("jira_show")))
    c = client(fake)
    plain = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    tool = {"type": "function", "function": {"name": "jira_show", "parameters": {}}}
    routed = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "b"}],
                                       tools=[tool])  # type: ignore[list-item]
    assert plain.choices[0].message.content == "fallback"
    assert routed.choices[0].message.content == "for the jira agent"
    assert fake.pending == 0


def test_no_default_answers_500_naming_the_request(fake: FakeOpenAI) -> None:
    fake.default = None
    with pytest.raises(openai.InternalServerError, match="no scripted reply for: unscripted"):
        client(fake).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "unscripted"}])


def test_fail_next_429_is_retried_by_the_client(fake: FakeOpenAI) -> None:
    fake.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        client(fake).chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    fake.fail_next(500)
    fake.script(Reply.text("after retry"))
    out = client(fake, retries=1).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "a"}])
    assert out.choices[0].message.content == "after retry"
    assert len(fake.requests) == 3


def lookup_ticket(key: str) -> str:
    """Look up a ticket by key, e.g. OPS-12."""
    return f"{key} is In Progress, assigned to alice"


@pytest.mark.parametrize("stream", [False, True])
async def test_agno_agent_tool_round_trip(fake: FakeOpenAI, stream: bool) -> None:
    fake.script(Reply.tool_call("lookup_ticket", {"key": "OPS-12"}, prompt_tokens=100,
                                completion_tokens=20),
                Reply.text("OPS-12 is in progress (alice).", prompt_tokens=150, completion_tokens=12))
    agent = Agent(model=OpenAIChat(id="gpt-4o-mini", base_url=fake.url, api_key="test",
                                   max_retries=0),
                  tools=[lookup_ticket], instructions=["You are the Jira helper."],
                  telemetry=False)
    if stream:
        outputs = [e async for e in agent.arun("where is OPS-12?", stream=True,
                                               yield_run_output=True)
                   if isinstance(e, RunOutput)]
        run = outputs[-1]
    else:
        run = await agent.arun("where is OPS-12?")
    assert run is not None and run.content == "OPS-12 is in progress (alice)."
    assert run.metrics is not None
    assert (run.metrics.input_tokens, run.metrics.output_tokens) == (250, 32)
    assert run.model == "gpt-4o-mini"
    assert [bool(b.get("stream")) for b in fake.requests] == [stream, stream]
    first, second = fake.requests
    assert system_contains("Jira helper")(first)
    assert offers_tool("lookup_ticket")(first)
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "tool" and "In Progress" in tool_msg["content"]
