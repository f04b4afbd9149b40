"""Workflows: sagas whose steps each carry an undo, persisted and resumable.

    saga.py      Step, Workflow, StepContext, Undo: the parts a workflow is written with
    engine.py    drives one run: steps in order, approval gates, compensation
    service.py   WorkflowService: launch, lease, resume (sweep), approvals
    store.py     runs and steps in the database; `runs_since` for digests
    report.py    the run's message in Slack and its thread
    kickoff.py   project kickoff from a ServiceNow request item
    incident.py  the incident bridge and its `incident_bug` saga
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.metrics import Metrics
from bot.storage.db import Database
from bot.workflows.bridges import BridgeStore
from bot.workflows.deps import WorkflowDeps
from bot.workflows.incident import IncidentBridge, bug_workflow
from bot.workflows.service import WorkflowService
from policies.store import ActivePolicy


@dataclass(frozen=True)
class Workflows:
    service: WorkflowService
    incidents: IncidentBridge


def build_workflows(db: Database, deps: WorkflowDeps, metrics: Metrics,
                    policy: Callable[[], ActivePolicy], *, lease_seconds: float = 60.0) -> Workflows:
    bridges = BridgeStore(db)
    service = WorkflowService(db, deps, metrics, policy, lease_seconds=lease_seconds,
                              workflows=[bug_workflow(bridges)])
    return Workflows(service, IncidentBridge(bridges, deps, policy, service))
