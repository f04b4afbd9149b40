"""Cost tables: one row per model run (the ledger) and one per budget alert sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow


class LlmUsage(Base):
    """Tokens one model spent for one request, with whom to charge them to.

    Money is `cost_nanos`, integer USD x 1e9 (see bot/cost/prices.py): exact sums on
    both databases. `day` is the UTC date of `at`, so daily totals group the same way on
    SQLite and PostgreSQL.
    """

    __tablename__ = "llm_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    day: Mapped[date] = mapped_column(Date)
    request_id: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    project: Mapped[str | None] = mapped_column(String(100), nullable=True)
    channel: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_nanos: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_llm_usage_at", "at"),
        Index("ix_llm_usage_department_at", "department", "at"),
        Index("ix_llm_usage_project_at", "project", "at"),
    )


class BudgetAlert(Base):
    """A budget alert that went out; the unique key makes "once per period" hold across
    restarts and replicas (the second insert fails, so the second poster stays quiet)."""

    __tablename__ = "budget_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # department | project
    name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(7))  # "2026-11"
    level: Mapped[int] = mapped_column(Integer)  # percent: 80, 95, 100
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "name", "period", "level",
                                       name="uq_budget_alerts_once"),)
