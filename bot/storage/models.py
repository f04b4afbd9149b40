"""Tables. Changes go through Alembic (bot/storage/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class InboxItem(Base):
    """An inbound item, stored under its dedupe key before it is acknowledged."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # slack, webhook:<source>, …
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|processing|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_inbox_status", "status"),)


class AuditEvent(Base):
    """Who asked what, which policy decided what by which rule, and how it ended."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(100), default="")
    stage: Mapped[str] = mapped_column(String(32))  # received|policy|outcome|…
    policy: Mapped[str] = mapped_column(String(32), default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    rule: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
