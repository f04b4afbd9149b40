"""What the kickoff writes: the project brief, the Slack announcement, the work note (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.analysis import RequirementsAnalysis

FILE_NAME = "Project brief.md"
Results = Mapping[str, Mapping[str, Any]]


def project_brief(results: Results, analysis: RequirementsAnalysis, key: str) -> str:
    item, jira, opp = results["read_request"], results["jira"], results["opportunity"]
    lines = [f"# {analysis.epic}", "", f"Request: [{item['number']}]({item['url']}) — {item['title']}",
             f"Requested for: {item.get('requested_for') or 'n/a'}", "", "## Summary", "",
             analysis.summary, "", f"Estimate: about {analysis.estimate_days} person-days.", "",
             "## Stories", ""]
    for story, made in zip(analysis.stories, jira["stories"], strict=False):
        lines.append(f"- [{made['key']}]({made['url']}) {story.title} "
                     f"({story.estimate_points} pts)")
    lines += ["", "## Links", "", f"- Jira epic: [{jira['epic']['key']}]({jira['epic']['url']})",
              f"- Salesforce opportunity: [{opp['name']}]({opp['url']})"]
    if analysis.stakeholders:
        lines += ["", "## Stakeholders", "", *(f"- {s}" for s in analysis.stakeholders)]
    if analysis.risks:
        lines += ["", "## Risks", "", *(f"- {r}" for r in analysis.risks)]
    lines += ["", f"_Written by Switchboard ({key})._", ""]
    return "\n".join(lines)


def announcement(results: Results, analysis: RequirementsAnalysis) -> tuple[str, list[Any]]:
    item, jira = results["read_request"], results["jira"]
    opp, folder = results["opportunity"], results["sharepoint"]
    title = f":rocket: *Project kickoff: {analysis.epic}* (<{item['url']}|{item['number']}>)"
    links = (f"• Jira: <{jira['epic']['url']}|{jira['epic']['key']}> and "
             f"{len(jira['stories'])} stories\n• Salesforce: <{opp['url']}|{opp['name']}>\n"
             f"• SharePoint: <{folder['folder_url']}|project folder>, "
             f"<{folder['brief_url']}|project brief>")
    text = f"{title}\n{analysis.summary}\n{links}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{title}\n{analysis.summary}"}},
              {"type": "section", "text": {"type": "mrkdwn", "text": links}}]
    return text, blocks


def work_note(results: Results, run_id: int, key: str) -> str:
    jira, opp, folder = results["jira"], results["opportunity"], results["sharepoint"]
    announced = results["announce"]
    stories = ", ".join(s["key"] for s in jira["stories"])
    return "\n".join([
        f"Project kicked off by Switchboard (workflow run {run_id}).",
        f"Jira epic: {jira['epic']['key']} {jira['epic']['url']}",
        f"Jira stories: {stories}",
        f"Salesforce opportunity: {opp['url']}",
        f"SharePoint folder: {folder['folder_url']}",
        f"Project brief: {folder['brief_url']}",
        f"Announced in Slack channel {announced['channel']}.",
        f"[{key}]",
    ])
