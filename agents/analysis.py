"""The structured requirements analysis the kickoff workflow consumes.

With a real model the analyst agent fills the pydantic schema (agno's
`output_schema`); offline, a deterministic reading of the text does, so the
kickoff workflow runs end to end without credentials.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agents.errors import AgentError
from agents.models import ModelConfig

if TYPE_CHECKING:
    from agents.service import Usage


class Story(BaseModel):
    title: str = Field(description="Imperative, under 80 characters")
    description: str
    estimate_points: int = Field(ge=1, le=13, description="Fibonacci story points")


class RequirementsAnalysis(BaseModel):
    summary: str = Field(description="Two sentences on what is asked and why")
    epic: str = Field(description="Epic title, under 80 characters")
    stories: list[Story] = Field(min_length=1, max_length=12)
    estimate_days: int = Field(ge=1, description="Rough total effort in person-days")
    stakeholders: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)


_INSTRUCTIONS = [
    "You are the analyst of an operations team. Read the request and answer only with the schema.",
    "Stories are small, testable slices of work; estimate in Fibonacci points.",
    "Never invent people: stakeholders are only names or emails that appear in the request.",
]


async def analyze_requirements(config: ModelConfig, text: str, *, user_id: str,
                               title: str = "") -> tuple[RequirementsAnalysis, tuple[Usage, ...]]:
    """The analyst's requirements analysis of a request item, and the tokens it used."""
    if config.spec == "offline":
        return offline_requirements(text, title), ()
    from agno.agent import Agent

    from agents.models import build_model
    from agents.service import usage_of

    agent = Agent(name="Analyst", model=build_model(config), instructions=_INSTRUCTIONS,
                  output_schema=RequirementsAnalysis)
    try:
        run = await agent.arun(f"Title: {title}\n\n{text}", user_id=user_id)
    except Exception as e:
        raise AgentError(f"the analyst failed ({type(e).__name__})") from e
    if not isinstance(run.content, RequirementsAnalysis):
        raise AgentError("the analyst did not return a requirements analysis")
    return run.content, usage_of(run)


_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+)$", re.M)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def offline_requirements(text: str, title: str = "") -> RequirementsAnalysis:
    """Bullets (or else sentences) become stories; emails named in the text are stakeholders."""
    items = [m.strip() for m in _ITEM.findall(text)]
    if not items:
        items = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 12]
    items = items[:12] or [title or "Deliver the request"]
    stories = [Story(title=_title(i), description=i, estimate_points=_points(i)) for i in items]
    epic = _title(title or items[0])
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0] if text.strip() else epic
    return RequirementsAnalysis(
        summary=f"{epic}: {first}"[:400], epic=epic, stories=stories,
        estimate_days=max(1, round(sum(s.estimate_points for s in stories) / 2)),
        stakeholders=sorted(set(_EMAIL.findall(text))))


def _title(text: str) -> str:
    words = text.strip().rstrip(".").split()
    title = " ".join(words[:10])
    return (title[:1].upper() + title[1:])[:80] or "Untitled"


def _points(text: str) -> int:
    size = len(text.split())
    return next(p for limit, p in ((6, 1), (12, 2), (20, 3), (35, 5), (10**9, 8)) if size <= limit)
