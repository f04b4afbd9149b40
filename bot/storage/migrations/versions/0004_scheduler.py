"""scheduled digests and scheduler lock (owned by the digest work)

Revision ID: 0004
Revises: 0003

``apscheduler_jobs`` has exactly the columns APScheduler 3's SQLAlchemyJobStore declares
(its own ``create(checkfirst=True)`` then finds it and does nothing), so several hub
processes starting at once never race to create it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])
    op.create_table(
        "digest_schedules",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("cron", sa.String(120), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("sections", sa.String(200), nullable=False),
        sa.Column("jira_filter", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "scheduler_claims",
        sa.Column("job_id", sa.String(191), primary_key=True),
        sa.Column("fire_time", sa.String(40), primary_key=True),
        sa.Column("claimed_by", sa.String(100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scheduler_claims_claimed_at", "scheduler_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_table("scheduler_claims")
    op.drop_table("digest_schedules")
    op.drop_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
