"""Who a Slack user is: email (for email-based role membership) and user groups, cached."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from policies.types import Principal

log = logging.getLogger(__name__)
TTL = 600.0
RETRY_GROUPS = 30.0  # after a failed usergroups.list: soon, not in ten minutes


class Directory:
    def __init__(self, client: AsyncWebClient, wants_groups: Callable[[], bool]) -> None:
        self._client = client
        self._wants_groups = wants_groups  # only ask Slack for groups the policy file names
        self._users: dict[str, tuple[float, str | None, str]] = {}
        self._groups: tuple[float, dict[str, frozenset[str]]] | None = None

    async def principal(self, user_id: str, team_id: str = "") -> Principal:
        email, name = await self._profile(user_id)
        groups = await self._groups_of(user_id) if self._wants_groups() else frozenset()
        return Principal(user_id=user_id, team_id=team_id, email=email, groups=groups, name=name)

    async def _profile(self, user_id: str) -> tuple[str | None, str]:
        cached = self._users.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        try:
            user = (await self._client.users_info(user=user_id))["user"]
            profile = user.get("profile", {})
            email, name = profile.get("email"), user.get("real_name") or user.get("name", "")
        except Exception:  # Slack down or odd: roles by user id still work without the email
            log.warning("users.info failed for %s; going on without email", user_id)
            self._users[user_id] = (time.monotonic() + RETRY_GROUPS, None, "")
            return None, ""
        self._users[user_id] = (time.monotonic() + TTL, email, name)
        return email, name

    async def _groups_of(self, user_id: str) -> frozenset[str]:
        if self._groups is None or self._groups[0] < time.monotonic():
            loaded = await self._load_groups()
            if loaded is not None:
                self._groups = (time.monotonic() + TTL, loaded)
            else:  # keep what we knew (if anything) rather than drop everyone's group roles
                self._groups = (time.monotonic() + RETRY_GROUPS,
                                self._groups[1] if self._groups else {})
        return frozenset(h for h, users in self._groups[1].items() if user_id in users)

    async def _load_groups(self) -> dict[str, frozenset[str]] | None:
        try:
            groups = (await self._client.usergroups_list(include_users=True))["usergroups"]
            return {g["handle"]: frozenset(g.get("users") or []) for g in groups}
        except (SlackApiError, KeyError, TypeError):
            log.warning("usergroups.list failed; group-based roles use the last known groups")
            return None
