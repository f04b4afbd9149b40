"""Shared fixtures: a clean environment, databases (SQLite and PostgreSQL), Redis, the fake Slack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack

ENV_PREFIXES = ("SLACK_", "SWITCHBOARD_", "SERVICENOW_", "JIRA_", "SALESFORCE_", "SHAREPOINT_",
                "OPENAI_", "ANTHROPIC_")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's credentials (bolt's tests/utils.py does the same)."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name == "REQUESTS_CA_BUNDLE":
            monkeypatch.delenv(name, raising=False)


def _unavailable(what: str, why: Exception) -> None:
    message = f"{what} is not reachable ({type(why).__name__}: {why})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must run these tests, not skip them")
    pytest.skip(f"{message}; start it to run this test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the `test` database, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                                autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        _unavailable("PostgreSQL on 127.0.0.1:5432", e)
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'switchboard.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        _unavailable("Redis on 127.0.0.1:6379", e)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(users={
        "U0ALICE": {"name": "Alice Ops", "email": "alice@example.com"},
        "U0BOB": {"name": "Bob Sales", "email": "bob@example.com"},
        "U0MALLORY": {"name": "Mallory", "email": "mallory@elsewhere.test"},
    })
    with fake:
        yield fake


@pytest.fixture
def policy_file() -> str:
    return str(DATA / "policy.yaml")
