"""Scheduler tables (migration 0004): digest schedules, and who claimed which scheduled run.

APScheduler's own job table (``apscheduler_jobs``: id, next_run_time, pickled job state) is
created by the same migration, with the columns its SQLAlchemyJobStore declares.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow

JOBS_TABLE = "apscheduler_jobs"


class DigestScheduleRow(Base):
    """One digest schedule: made from Slack (`/sb digest schedule`) or from the policy file."""

    __tablename__ = "digest_schedules"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # "d4f2a9" | "policy:<name>"
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(100))
    sections: Mapped[str] = mapped_column(String(200))  # comma-separated section names
    jira_filter: Mapped[str] = mapped_column(Text, default="")  # JQL ANDed to the Jira queries
    source: Mapped[str] = mapped_column(String(16))  # slack | policy
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SchedulerClaim(Base):
    """A scheduled run someone started: the primary key lets exactly one process insert it."""

    __tablename__ = "scheduler_claims"
    job_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    fire_time: Mapped[str] = mapped_column(String(40), primary_key=True)  # UTC ISO-8601
    claimed_by: Mapped[str] = mapped_column(String(100))  # host:pid
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
