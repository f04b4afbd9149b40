"""What the SharePoint connector is configured with, returns, and promises (``DocumentLibrary``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class SharePointConfig:
    """A site plus either a bearer ``access_token`` or an app-only ``client_id``/``client_secret``.

    The client id and secret are SharePoint app-only (ACS) credentials; ACS finds the
    tenant's realm from the site itself, so ``tenant`` is informational for now (kept
    for certificate-based Entra ID credentials, which this connector does not do yet).
    """

    site_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    tenant: str | None = None

    @property
    def uses_token(self) -> bool:
        return bool(self.site_url and self.access_token)

    @property
    def configured(self) -> bool:
        return self.uses_token or bool(self.site_url and self.client_id and self.client_secret)


@dataclass(frozen=True)
class FileEntry:
    name: str
    server_relative_url: str  # "/sites/team/Shared Documents/report.pdf"
    size: int  # bytes
    modified: datetime | None  # UTC
    url: str  # opens the file in a browser


@dataclass(frozen=True)
class FolderEntry:
    name: str
    server_relative_url: str
    item_count: int  # files and folders directly inside
    modified: datetime | None  # UTC
    url: str  # opens the folder in a browser


@dataclass(frozen=True)
class FolderListing:
    folder: FolderEntry
    folders: tuple[FolderEntry, ...]
    files: tuple[FileEntry, ...]


@dataclass(frozen=True)
class DownloadedFile:
    name: str
    server_relative_url: str
    content: bytes
    url: str


@dataclass(frozen=True)
class ListItem:
    list_title: str
    id: int
    fields: Mapping[str, Any]  # what SharePoint stored, by internal field name
    url: str  # the item's display form


@runtime_checkable
class DocumentLibrary(Protocol):
    """Folders and files in a document library, plus items in lists of the same site.

    Paths are site-relative (``"Shared Documents/Reports"``) or server-relative
    (``"/sites/team/Shared Documents/Reports"``).
    """

    system: str

    @property
    def configured(self) -> bool: ...
    def health(self) -> str: ...
    async def list_folder(self, folder: str) -> FolderListing: ...
    async def create_folder(self, folder: str) -> FolderEntry: ...
    async def delete_folder(self, folder: str) -> None: ...
    async def upload_file(self, folder: str, name: str, content: bytes) -> FileEntry: ...
    async def download_file(self, path: str) -> DownloadedFile: ...
    async def create_list_item(self, list_title: str, fields: Mapping[str, Any]) -> ListItem: ...
    async def delete_list_item(self, list_title: str, item_id: int) -> None: ...
