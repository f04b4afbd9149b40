"""`sp list`, `sp upload`: SharePoint folders from Slack."""

from __future__ import annotations

from bot.commands.args import UsageError
from bot.commands.registry import Command, CommandContext
from bot.commands.render import link, listing
from policies.types import Reply

MAX_ROWS = 25
MAX_UPLOAD = 50 * 1024 * 1024


def _folder(ctx: CommandContext, example: str) -> str:
    folder = ctx.args.strip().strip('"')
    if not folder:
        raise UsageError(f"Missing the folder path. Usage: `{ctx.command_name} {example}`")
    return folder


async def _list(ctx: CommandContext) -> Reply:
    folder = _folder(ctx, 'sp list "Shared Documents/Reports"')
    found = await ctx.services.connectors.sharepoint.list_folder(folder)
    rows = [f":file_folder: {link(f.name, f.url)} ({f.item_count} items)" for f in found.folders]
    rows += [f":page_facing_up: {link(f.name, f.url)} — {_size(f.size)}" for f in found.files]
    return listing(f"SharePoint: {found.folder.name or folder}", rows[:MAX_ROWS],
                   empty="This folder is empty.", more=len(rows) - MAX_ROWS)


async def _upload(ctx: CommandContext) -> Reply:
    folder = _folder(ctx, 'sp upload "Shared Documents/Reports"')
    fetch = ctx.services.fetch_shared_file
    shared = await fetch(ctx.request) if fetch else None
    if shared is None:
        raise UsageError("I found no file you shared in this channel recently. Share the file "
                         "here first (drag it into Slack), then run the command again.")
    name, content = shared
    if len(content) > MAX_UPLOAD:
        raise UsageError(f"`{name}` is {_size(len(content))}; the limit is {_size(MAX_UPLOAD)}.")
    entry = await ctx.services.connectors.sharepoint.upload_file(folder, name, content)
    return Reply(f":arrow_up: Uploaded {link(entry.name, entry.url)} ({_size(entry.size)}) to "
                 f"`{folder}`.", visibility="channel")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


COMMANDS = [
    Command("sp list", "sharepoint:folder:read", "<folder path>", "List a SharePoint folder",
            _list, "SharePoint"),
    Command("sp upload", "sharepoint:file:create", "<folder path>",
            "Upload the file you last shared in this channel", _upload, "SharePoint"),
]
