"""`switchboard …`: serve, demo, db upgrade, digest run, policy check."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except Exception as e:  # pydantic lists every bad variable
        print(f"switchboard: invalid settings: {e}", file=sys.stderr)
        return 2
    _configure_logging(settings.hub.log_level, quiet=args.run in (_demo, _digest_run))
    return int(args.run(settings, args) or 0)


def _configure_logging(level: str, *, quiet: bool) -> None:
    logging.basicConfig(level="WARNING" if quiet else level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "alembic.runtime.plugins"):  # a line per request / per plugin
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchboard", description="Chat-ops bot and integration hub")
    sub = p.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the hub (HTTP: Slack events, webhooks, metrics)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(run=_serve)

    demo = sub.add_parser("demo", help="a scripted offline end-to-end run (no credentials)")
    demo.set_defaults(run=_demo)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="apply migrations").set_defaults(run=_db_upgrade)

    digest = sub.add_parser("digest", help="channel digests").add_subparsers(metavar="ACTION")
    run = digest.add_parser("run", help="build one digest; print it (--dry-run) or post it")
    run.add_argument("--channel", required=True, help="Slack channel id, e.g. C0123ABCD")
    run.add_argument("--sections", nargs="*", default=[], metavar="SECTION",
                     help="incidents jira workflows denials spend (default: all)")
    run.add_argument("--dry-run", action="store_true", help="print to the terminal, post nothing")
    run.add_argument("--chart", type=Path, help="also write the spend chart (PNG) here")
    run.set_defaults(run=_digest_run)

    policy = sub.add_parser("policy", help="policy file tools").add_subparsers(metavar="ACTION")
    check = policy.add_parser("check", help="validate the policy file; explain one decision")
    check.add_argument("--user", help="Slack user id, e.g. U012AB3CD")
    check.add_argument("--action", help="e.g. jira:issue:create")
    check.add_argument("--channel", default="")
    check.add_argument("--email")
    check.add_argument("--group", action="append", default=[], help="user group handle")
    check.set_defaults(run=_policy_check)
    return p


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app

    uvicorn.run(create_app(settings, scrub_logs=True), host=args.host, port=args.port, loop="uvloop",
                http="httptools", log_level=settings.hub.log_level.lower(), access_log=False)
    return 0


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    from bot.demo.run import run_demo

    return run_demo()


def _db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    upgrade(settings.hub.database_url)
    print("database is at the latest revision")
    return 0


def _digest_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.digest.cli import run_digest
    from bot.digest.model import SECTIONS

    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        print(f"switchboard: unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    return run_digest(settings, args.channel, args.sections, dry_run=args.dry_run,
                      chart=args.chart)


def _policy_check(settings: Settings, args: argparse.Namespace) -> int:
    from policies.errors import PolicyFileError
    from policies.store import PolicyStore
    from policies.types import Principal

    try:
        active = PolicyStore(settings.hub.policy_file).load()
    except PolicyFileError as e:
        print(f"invalid policy file {e.path}:", *(f"  - {p}" for p in e.problems), sep="\n")
        return 1
    print(f"policy: {active.source} ({len(active.file.roles)} roles) is valid")
    if not args.user or not args.action:
        return 0
    who = Principal(user_id=args.user, email=args.email, groups=frozenset(g.lstrip("@") for g in args.group))
    verdict = active.rbac.check(who, args.action, args.channel)
    roles = ", ".join(active.rbac.roles_of(who)) or "(none)"
    print(f"user {args.user} roles: {roles}")
    print(f"{'ALLOW' if verdict.allowed else 'DENY'} {args.action}"
          f"{' in ' + args.channel if args.channel else ''} by rule {verdict.rule}"
          f"{': ' + verdict.reason if verdict.reason else ''}")
    return 0 if verdict.allowed else 3


if __name__ == "__main__":
    raise SystemExit(main())
