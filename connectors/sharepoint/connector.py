"""``SharePointConnector``: folders, files and list items over office365-rest-python-client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from connectors.errors import AuthFailed, InvalidRequest, NotConfigured, NotFound
from connectors.resilience import CallObserver, GuardedConnector, ResiliencePolicy
from connectors.sharepoint.client import (
    CREDENTIAL_VARS,
    SYSTEM,
    TokenSource,
    new_context,
    token_source,
    translate,
)
from connectors.sharepoint.types import (
    DownloadedFile,
    FileEntry,
    FolderEntry,
    FolderListing,
    ListItem,
    SharePointConfig,
)

if TYPE_CHECKING:  # the vendor library loads on first use, not at hub start-up
    from office365.sharepoint.client_context import ClientContext
    from office365.sharepoint.files.file import File
    from office365.sharepoint.folders.folder import Folder

T = TypeVar("T")

# SharePoint refuses these in file and folder names (and they would reshape our URLs).
_FORBIDDEN = set('"*:<>?/\\|')


class SharePointConnector(GuardedConnector):
    """Satisfies ``DocumentLibrary``. Reads are retried; writes are attempted once."""

    system = SYSTEM

    def __init__(
        self,
        config: SharePointConfig,
        policy: ResiliencePolicy = ResiliencePolicy(),
        observer: CallObserver | None = None,
    ) -> None:
        super().__init__(config, policy, translate, observer)
        self.config: SharePointConfig = config
        self._tokens: TokenSource | None = None
        self._tokens_lock = threading.Lock()

    # -- folders and files -------------------------------------------------------------
    async def list_folder(self, folder: str) -> FolderListing:
        path = self._server_path(folder)

        def run(ctx: ClientContext) -> FolderListing:
            found = ctx.web.get_folder_by_server_relative_url(path)
            found.expand(["Files", "Folders"]).get().execute_query()
            return FolderListing(
                folder=self._folder_entry(found),
                folders=tuple(self._folder_entry(f) for f in found.folders),
                files=tuple(self._file_entry(f) for f in found.files),
            )

        with _not_found(f"SharePoint has no folder '{path}'."):
            return await self._call("list_folder", run, idempotent=True)

    async def create_folder(self, folder: str) -> FolderEntry:
        """Create ``folder`` and any missing parents; an existing folder is fine."""
        path = self._server_path(folder)
        names = path.removeprefix(self._site_path).strip("/").split("/")

        def run(ctx: ClientContext) -> FolderEntry:
            # One Folders.Add per level, each addressed by its parent's path: the
            # library's ensure_folder_path quotes nested names unescaped ('O'Brien').
            created = ctx.web.root_folder.folders.add(names[0])
            parent = f"{self._site_path}/{names[0]}"
            for name in names[1:]:
                created = ctx.web.get_folder_by_server_relative_url(parent).folders.add(name)
                parent = f"{parent}/{name}"
            ctx.execute_query()
            return self._folder_entry(created)

        return await self._call("create_folder", run, idempotent=False)

    async def upload_file(self, folder: str, name: str, content: bytes) -> FileEntry:
        """Put ``content`` in ``folder`` as ``name``, replacing a file of that name."""
        path = self._server_path(folder)
        _check_name(name)

        def run(ctx: ClientContext) -> FileEntry:
            target = ctx.web.get_folder_by_server_relative_url(path)
            uploaded: File = target.upload_file(name, content).execute_query()
            return self._file_entry(uploaded)

        with _not_found(f"SharePoint has no folder '{path}' to upload into."):
            return await self._call("upload_file", run, idempotent=False)

    async def delete_folder(self, folder: str) -> None:
        """Move ``folder`` and everything in it to the site's Recycle Bin (recoverable there
        for 93 days). NotFound if there is no such folder."""
        path = self._server_path(folder)
        if path.count("/") <= self._site_path.count("/") + 1:
            raise InvalidRequest(SYSTEM, f"Switchboard does not delete a whole library ('{path}').")

        def run(ctx: ClientContext) -> None:
            ctx.web.get_folder_by_server_relative_url(path).recycle()
            ctx.execute_query()

        with _not_found(f"SharePoint has no folder '{path}'."):
            await self._call("delete_folder", run, idempotent=False)

    async def download_file(self, path: str) -> DownloadedFile:
        file_path = self._server_path(path)

        def run(ctx: ClientContext) -> bytes:
            result = ctx.web.get_file_by_server_relative_url(file_path).get_content()
            ctx.execute_query()
            return bytes(result.value or b"")

        with _not_found(f"SharePoint has no file '{file_path}'."):
            content = await self._call("download_file", run, idempotent=True)
        name = file_path.rsplit("/", 1)[-1]
        return DownloadedFile(name, file_path, content, self._web_url(file_path))

    # -- list items --------------------------------------------------------------------
    async def create_list_item(self, list_title: str, fields: Mapping[str, Any]) -> ListItem:
        """Add an item to the list titled ``list_title``; ``fields`` use internal names."""
        if not list_title.strip() or not fields:
            raise InvalidRequest(SYSTEM, "A list item needs a list title and at least one field.")

        def run(ctx: ClientContext) -> ListItem:
            target = ctx.web.lists.get_by_title(list_title)
            item = target.add_item(dict(fields))
            ctx.execute_query()
            item_id = int(item.properties["Id"])
            url = self._item_url(list_title, target.properties.get("Id"), item_id)
            return ListItem(list_title, item_id, _plain(item.properties), url)

        return await self._call("create_list_item", run, idempotent=False)

    async def delete_list_item(self, list_title: str, item_id: int) -> None:
        if not list_title.strip() or item_id < 1:
            raise InvalidRequest(SYSTEM, f"'{item_id}' is not a list item id in '{list_title}'.")

        def run(ctx: ClientContext) -> None:
            ctx.web.lists.get_by_title(list_title).get_item_by_id(item_id).delete_object()
            ctx.execute_query()

        await self._call("delete_list_item", run, idempotent=False)

    # -- plumbing ----------------------------------------------------------------------
    async def _call(self, operation: str, fn: Callable[[ClientContext], T], *, idempotent: bool) -> T:
        tokens = self._token_source()
        site_url = str(self.config.site_url).rstrip("/")
        try:
            return await self._guard.call(
                operation, lambda: fn(new_context(site_url, tokens)), idempotent=idempotent
            )
        except AuthFailed:
            tokens.invalidate()  # an app-only token may have been revoked: fetch anew next time
            raise

    def _token_source(self) -> TokenSource:
        if not self.configured:
            raise NotConfigured(SYSTEM, f"SharePoint is not configured: set {CREDENTIAL_VARS}.")
        with self._tokens_lock:
            if self._tokens is None:
                self._tokens = token_source(self.config)
            return self._tokens

    @property
    def _site_path(self) -> str:
        return urlsplit(str(self.config.site_url)).path.rstrip("/")

    def _server_path(self, path: str) -> str:
        """Site- or server-relative -> server-relative, refusing what would escape the site."""
        text = path.strip()
        if "://" in text:  # a link pasted from the browser
            text = self._from_link(text)
        if text.startswith("/"):
            if not (text + "/").startswith(self._site_path + "/"):
                raise InvalidRequest(SYSTEM, f"'{path}' is not inside the site {self._site_path}.")
            text = text.removeprefix(self._site_path)
        names = [n for n in text.split("/") if n]
        if not names:
            raise InvalidRequest(SYSTEM, "Give a folder or file path, like 'Shared Documents'.")
        for name in names:
            _check_name(name)
        return "/".join([self._site_path, *names])

    def _from_link(self, link: str) -> str:
        parts, site = urlsplit(link), urlsplit(str(self.config.site_url))
        if parts.netloc.lower() != site.netloc.lower():
            raise InvalidRequest(SYSTEM, f"'{link}' is not on {site.netloc}.")
        return unquote(parts.path)

    def _web_url(self, server_relative_url: str) -> str:
        parts = urlsplit(str(self.config.site_url))
        return f"{parts.scheme}://{parts.netloc}{quote(server_relative_url)}"

    def _item_url(self, list_title: str, list_id: str | None, item_id: int) -> str:
        site = str(self.config.site_url).rstrip("/")
        if list_id:  # the display form addressed by list id works whatever the list's URL
            list_ref = quote(f"{{{list_id}}}")
            return f"{site}/_layouts/15/listform.aspx?PageType=4&ListId={list_ref}&ID={item_id}"
        return f"{site}/Lists/{quote(list_title)}/DispForm.aspx?ID={item_id}"

    def _folder_entry(self, folder: Folder) -> FolderEntry:
        p = folder.properties
        url = str(p.get("ServerRelativeUrl", ""))
        return FolderEntry(
            name=str(p.get("Name", "")),
            server_relative_url=url,
            item_count=int(p.get("ItemCount") or 0),
            modified=_utc(p.get("TimeLastModified")),
            url=self._web_url(url),
        )

    def _file_entry(self, file: File) -> FileEntry:
        p = file.properties
        url = str(p.get("ServerRelativeUrl", ""))
        return FileEntry(
            name=str(p.get("Name", "")),
            server_relative_url=url,
            size=int(p.get("Length") or 0),  # Edm.Int64 arrives as a string
            modified=_utc(p.get("TimeLastModified")),
            url=self._web_url(url),
        )


@contextmanager
def _not_found(message: str) -> Iterator[None]:
    """Reword a NotFound with what the operation was looking for."""
    try:
        yield
    except NotFound as e:
        raise NotFound(SYSTEM, message) from e


def _check_name(name: str) -> None:
    bad = sorted(_FORBIDDEN & set(name))
    if not name.strip() or name in (".", "..") or bad:
        shown = " ".join(bad) if bad else "an empty name, '.' or '..'"
        raise InvalidRequest(SYSTEM, f"SharePoint does not allow {shown} in the name '{name}'.")


def _utc(value: Any) -> datetime | None:
    """The library parses SharePoint's UTC timestamps into naive datetimes."""
    if isinstance(value, datetime) and value != datetime.min:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _plain(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Item fields as plain data (the library mixes in objects such as ``ParentList``)."""
    simple = (str, int, float, bool, type(None), list, dict)
    return {k: v for k, v in properties.items() if isinstance(v, simple)}
