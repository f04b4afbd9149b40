"""`switchboard demo` tells its whole story offline (it is the README's first command)."""

from __future__ import annotations

from bot.demo.run import run_demo


def test_the_demo_runs_the_whole_story() -> None:
    lines: list[str] = []
    assert run_demo(out=lines.append) == 0
    text = "\n".join(lines)
    assert "[hub acknowledged: HTTP 200" in text and "HTTP 4" not in text
    assert "/sb ask <question>" in text  # help, filtered by role
    assert "*Roles:* sre" in text  # whoami
    assert "Checkout returns 502" in text  # the team read the incident through its tool
    assert "(no new reply)" in text  # the retried event changed nothing
    assert "Approve?" in text and ":white_check_mark: Done: *OPS-1*" in text
    assert "Jira now holds: OPS-1" in text
    assert "Not allowed: you have no Switchboard role yet" in text
    assert "agent_tool allow" in text and "rbac deny" in text  # the audit log
