"""Tables of the workflow engine: runs, their steps, and the incident bridges.

Changes go through Alembic (bot/storage/migrations/versions/0003_workflows.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow


class WorkflowRun(Base):
    """One run of a workflow; `trigger_key` makes a replayed trigger start nothing new."""

    __tablename__ = "workflow_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(100), default="")  # RITM0010001, INC0010001
    trigger_key: Mapped[str] = mapped_column(String(200), unique=True)
    # running | waiting_approval | compensating | succeeded | compensated | cancelled
    # | compensation_failed
    status: Mapped[str] = mapped_column(String(24))
    input: Mapped[str] = mapped_column(Text, default="{}")  # JSON, with the config snapshot
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")  # where the run reports
    thread_ts: Mapped[str | None] = mapped_column(String(40), nullable=True)  # its message
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    left_behind: Mapped[str] = mapped_column(Text, default="[]")  # JSON: what undo could not undo
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approval_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                               nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_workflow_runs_status", "status"),
                      Index("ix_workflow_runs_started_at", "started_at"))


class WorkflowStep(Base):
    """A step of a run; `result` holds the ids and links of what it made (for undo and resume)."""

    __tablename__ = "workflow_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    # pending | running | done | failed | compensated | compensation_failed | skipped
    status: Mapped[str] = mapped_column(String(24), default="pending")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    result: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_workflow_steps_run_name"),
                      Index("ix_workflow_steps_run_id", "run_id"))


class IncidentBridge(Base):
    """A P1/P2 incident posted to Slack: where its thread is and what was done from it."""

    __tablename__ = "incident_bridges"
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    ts: Mapped[str | None] = mapped_column(String(40), nullable=True)
    priority: Mapped[int] = mapped_column(Integer)
    short_description: Mapped[str] = mapped_column(Text, default="")
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    escalated_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    jira_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
