"""What a run says in Slack: one message per run, updated as it goes, and a thread under it.

Every message goes through the GuardedNotifier (DLP-checked). A run without a
channel reports nothing to Slack (its state is still in `/sb workflow status`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.notify import Notifier
from bot.workflows.saga import UndoReport, Workflow
from bot.workflows.store import RunRecord, RunStore

log = logging.getLogger(__name__)

ICONS = {"pending": ":white_circle:", "running": ":hourglass_flowing_sand:",
         "done": ":white_check_mark:", "failed": ":x:", "compensated": ":leftwards_arrow_with_hook:",
         "compensation_failed": ":warning:", "skipped": ":heavy_minus_sign:"}
OUTCOME = {"succeeded": ":white_check_mark: done", "compensated": ":x: failed and undone",
           "cancelled": ":no_entry_sign: cancelled and undone",
           "compensation_failed": ":warning: failed; some of it could not be undone",
           "waiting_approval": ":raised_hand: waiting for approval",
           "running": ":gear: running", "compensating": ":leftwards_arrow_with_hook: undoing"}


def headline(run: RunRecord, workflow: Workflow) -> str:
    who = f" for <@{run.requested_by}>" if run.requested_by.startswith(("U", "W")) else ""
    return (f"*{workflow.title}* `run {run.id}` — {run.subject}{who}: "
            f"{OUTCOME.get(run.status, run.status)}")


def step_lines(run: RunRecord, workflow: Workflow) -> list[str]:
    lines = []
    for record in run.steps:
        label = workflow.step(record.name).label if record.name in _names(workflow) else record.name
        line = f"{ICONS.get(record.status, '•')} {label} — {record.status.replace('_', ' ')}"
        if record.error:
            line += f": {record.error}"
        lines.append(line)
    return lines


def outcome_text(run: RunRecord, workflow: Workflow, undo: UndoReport) -> str:
    failed = next((s for s in workflow.steps if (run.error or "").startswith(f"{s.label}: ")),
                  None)  # the engine writes "<label>: <why>"
    if run.cancelled:
        first = f":no_entry_sign: {workflow.title} run {run.id} for {run.subject} was cancelled"
        first += f": {run.error}." if run.error else "."
    elif failed is not None:
        why = (run.error or "").removeprefix(f"{failed.label}: ")
        first = (f":x: {workflow.title} run {run.id} for {run.subject} failed at "
                 f"*{failed.label}*: {why}")
    else:
        first = f":x: {workflow.title} run {run.id} for {run.subject} failed: {run.error}"
    lines = [first]
    if undo.undone:
        lines.append("Undone: " + "; ".join(undo.undone) + ".")
    if undo.left:
        lines.append(":warning: *Could not undo* (please clean up by hand): "
                     + "; ".join(undo.left) + ".")
    else:
        lines.append("Nothing was left behind.")
    return "\n".join(lines)


class Reporter:
    def __init__(self, notifier: Notifier, store: RunStore) -> None:
        self._notifier = notifier
        self._store = store

    async def opened(self, run: RunRecord, workflow: Workflow) -> RunRecord:
        """Post the run's message once; later messages go in its thread."""
        if not run.channel or run.thread_ts:
            return run
        ts = await self._safe_post(run.channel, headline(run, workflow), self._blocks(run, workflow))
        if ts:
            await self._store.set_run(run.id, thread_ts=ts)
            return await self._store.load(run.id) or run
        return run

    async def refresh(self, run_id: int, workflow: Workflow) -> None:
        """Bring the run's message up to date with its steps (cosmetic: never fails a run)."""
        run = await self._store.load(run_id)
        if run is None or not run.channel or not run.thread_ts:
            return
        if run.input.get("report") == "thread":  # it reports in someone else's thread
            return
        try:
            await self._notifier.update(run.channel, run.thread_ts, headline(run, workflow),
                                        self._blocks(run, workflow))
        except Exception:
            log.warning("could not update the message of run %s", run_id, exc_info=True)

    async def in_thread(self, run: RunRecord, text: str,
                        blocks: list[Mapping[str, Any]] | None = None) -> str | None:
        if not run.channel:
            log.info("run %s: %s", run.id, text)
            return None
        return await self._safe_post(run.channel, text, blocks or (), thread_ts=run.thread_ts)

    async def ask_approval(self, run: RunRecord, workflow: Workflow, step: str,
                           deadline: datetime) -> str | None:
        label = workflow.step(step).label
        text = (f":raised_hand: {workflow.title} run {run.id} for {run.subject} waits for approval "
                f"before *{label}*. Approvers: click below by "
                f"{deadline:%Y-%m-%d %H:%M} UTC, or it is cancelled and undone.")
        value = f"{run.id}:{step}"
        blocks: list[Mapping[str, Any]] = [
                  {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                  {"type": "actions", "elements": [
                      {"type": "button", "action_id": f"wfapprove:{run.id}", "value": value,
                       "style": "primary", "text": {"type": "plain_text", "text": "Approve"}},
                      {"type": "button", "action_id": f"wfreject:{run.id}", "value": value,
                       "style": "danger", "text": {"type": "plain_text", "text": "Reject"}}]}]
        return await self.in_thread(run, text, blocks)

    async def succeeded(self, run: RunRecord, workflow: Workflow) -> None:
        lines = workflow.summary(run.results)
        text = f":white_check_mark: {workflow.title} run {run.id} for {run.subject} is done."
        await self.in_thread(run, "\n".join([text, *(f"• {line}" for line in lines)]))
        await self.refresh(run.id, workflow)

    async def undone(self, run: RunRecord, workflow: Workflow, undo: UndoReport) -> None:
        await self.in_thread(run, outcome_text(run, workflow, undo))
        await self.refresh(run.id, workflow)

    def _blocks(self, run: RunRecord, workflow: Workflow) -> list[Mapping[str, Any]]:
        body = "\n".join(step_lines(run, workflow))
        return [{"type": "section", "text": {"type": "mrkdwn", "text": headline(run, workflow)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}}]

    async def _safe_post(self, channel: str, text: str, blocks: Any,
                         thread_ts: str | None = None) -> str | None:
        try:
            return await self._notifier.post(channel, text, blocks, thread_ts=thread_ts)
        except Exception:  # the run's state is in the database; Slack is where it is told
            log.warning("could not post to %s", channel, exc_info=True)
            return None


def _names(workflow: Workflow) -> set[str]:
    return {s.name for s in workflow.steps}
