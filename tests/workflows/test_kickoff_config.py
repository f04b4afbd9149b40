"""What a kickoff run takes from the policy file, checked before anything starts."""

from __future__ import annotations

import pytest

from bot.workflows.kickoff import kickoff_input
from bot.workflows.saga import StepError
from policies.policy_file import KickoffConfig


def test_the_config_is_snapshotted_into_the_run() -> None:
    data = kickoff_input("RITM0010001", KickoffConfig(announce_channel="C0PROJ",
                                                      sharepoint_folder="/Shared Documents/P/",
                                                      approval_steps=("opportunity",)))
    assert data == {"number": "RITM0010001", "jira_project": "OPS", "announce_channel": "C0PROJ",
                    "sharepoint_folder": "Shared Documents/P", "stage": "Prospecting",
                    "done_state": "2", "approval_steps": ["opportunity"]}


def test_without_an_announce_channel_nothing_starts() -> None:
    with pytest.raises(StepError, match="announce_channel"):
        kickoff_input("RITM0010001", KickoffConfig())


def test_an_unknown_approval_step_is_named() -> None:
    with pytest.raises(StepError, match=r"unknown step.*opportunty"):
        kickoff_input("RITM0010001", KickoffConfig(announce_channel="C1",
                                                   approval_steps=("opportunty",)))
