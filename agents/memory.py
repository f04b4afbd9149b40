"""Thread memory: agno's session storage in the hub's own database."""

from __future__ import annotations

from agno.db.base import AsyncBaseDb
from sqlalchemy.ext.asyncio import AsyncEngine

SESSION_TABLE = "agno_sessions"
RUNS_TABLE = "agno_runs"


def agent_db(engine: AsyncEngine) -> AsyncBaseDb:
    """agno's own tables (it creates and migrates them) beside ours, prefixed `agno_`.

    It shares the hub's async engine: agno's synchronous stores would run on the
    event loop and, on SQLite, wait there for a lock that only the loop can free.
    """
    if engine.dialect.name == "sqlite":
        from agno.db.sqlite import AsyncSqliteDb

        return AsyncSqliteDb(db_engine=engine, session_table=SESSION_TABLE,
                             runs_table=RUNS_TABLE)
    from agno.db.postgres import AsyncPostgresDb

    return AsyncPostgresDb(db_engine=engine, session_table=SESSION_TABLE, runs_table=RUNS_TABLE,
                           db_schema="public")
