"""SharePoint through office365-rest-python-client: folders, files and list items.

types.py      SharePointConfig, FileEntry, FolderEntry, FolderListing, DownloadedFile,
              ListItem, the DocumentLibrary protocol
client.py     tokens (static bearer or ACS app-only), per-call ClientContexts, error translation
connector.py  SharePointConnector: each operation through one resilience Guard
"""

from connectors.sharepoint.connector import SharePointConnector
from connectors.sharepoint.types import (
    DocumentLibrary,
    DownloadedFile,
    FileEntry,
    FolderEntry,
    FolderListing,
    ListItem,
    SharePointConfig,
)

__all__ = [
    "DocumentLibrary",
    "DownloadedFile",
    "FileEntry",
    "FolderEntry",
    "FolderListing",
    "ListItem",
    "SharePointConfig",
    "SharePointConnector",
]
