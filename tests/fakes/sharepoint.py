"""A stateful fake of the SharePoint REST API (``/_api``), in odata=verbose JSON.

It serves what office365-rest-python-client actually requests (recorded with
FakeServer while writing it): ``contextInfo`` for the form digest, folder
listings with ``$expand=Files,Folders``, ``RootFolder/Folders/Add('a')`` and
``getFolderByServerRelativeUrl('p')/Folders/Add('b')`` for folders,
``Files/add(overwrite=true,url='x')`` uploads, ``getFileByServerRelativeUrl('...')/$value``
downloads, ``lists/GetByTitle('T')`` and its ``items``, and ``getItemById(n)``
deletes sent as POST with ``X-HTTP-Method: DELETE``. Errors use SharePoint's
``{"error": {"code": ..., "message": {"lang", "value"}}}`` shape; a bad bearer
token gets 401 with ``error_description``. SharePoint matches URLs
case-insensitively, so the routes do too.

App-only sign-in: a HEAD on the site answers 401 with the ``WWW-Authenticate``
realm challenge, and ``FakeAcs`` plays ``accounts.accesscontrol.windows.net``.
"""

from __future__ import annotations

import itertools
import re
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.server import Recorded, Response
from tests.fakes.tls import FakeServerPlus

I = "(?i)"  # noqa: E741 - SharePoint URLs are case-insensitive
SHAREPOINT_PRINCIPAL = "00000003-0000-0ff1-ce00-000000000000"
LIT = r"'((?:[^']|'')*)'"  # an OData string literal: quotes inside are doubled


def sp_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": {"lang": "en-US", "value": message}}})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SpList:
    title: str
    fields: set[str]
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def entity_type(self) -> str:
        return f"SP.Data.{self.title.replace(' ', '_x0020_')}ListItem"


class FakeSharePoint:
    """``with FakeSharePoint() as sp:``; the site is ``sp.site_url`` (``/sites/team``)."""

    def __init__(
        self,
        site_path: str = "/sites/team",
        token: str = "sp-static-token",  # noqa: S107
    ) -> None:
        self.server = FakeServerPlus()
        self.site_path = site_path
        self.token = token
        self.tokens = {token}  # bearer tokens the site accepts (FakeAcs adds the ones it issues)
        self.realm = "5f3c2b1a-0c1d-4e5f-8a9b-0123456789ab"  # the tenant id ACS sign-in discovers
        self.folders: dict[str, str] = {}  # server-relative path -> TimeLastModified
        self.files: dict[str, tuple[bytes, str]] = {}  # server-relative path -> (content, modified)
        self.lists: dict[str, SpList] = {}
        self.recycled: list[str] = []  # server-relative paths of folders sent to the Recycle Bin
        self.add_folder("Shared Documents")
        self.add_list("Tasks", {"Title", "Status", "Priority"})
        self._routes()

    # -- lifecycle and helpers ---------------------------------------------------
    @property
    def site_url(self) -> str:
        return self.server.url + self.site_path

    @property
    def url(self) -> str:
        """What a connector is pointed at (``SHAREPOINT_SITE_URL``): the site, not the host."""
        return self.site_url

    def __enter__(self) -> FakeSharePoint:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def fail_next(self, method: str, pattern: str, *responses: Response) -> None:
        self.server.fail_next(method, I + pattern, *responses)

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return self.server.calls(method, I + pattern)

    def path(self, site_relative: str) -> str:
        """``"Shared Documents/a"`` -> ``"/sites/team/Shared Documents/a"``."""
        if site_relative.startswith("/"):
            return site_relative.rstrip("/")
        return f"{self.site_path}/{site_relative}".rstrip("/")

    def add_folder(self, site_relative: str) -> str:
        path = self.path(site_relative)
        self.folders.setdefault(path, _now())
        return path

    def add_file(self, site_relative: str, content: bytes) -> str:
        path = self.path(site_relative)
        self.files[path] = (content, _now())
        return path

    def add_list(self, title: str, fields: set[str]) -> SpList:
        self.lists[title] = SpList(title, fields | {"Title"})
        return self.lists[title]

    # -- routes --------------------------------------------------------------------
    def _routes(self) -> None:
        api = I + re.escape(self.site_path) + r"/_api"
        folder = rf"{api}/web/getFolderByServerRelativeUrl\({LIT}\)"
        lst = rf"{api}/web/lists/GetByTitle\({LIT}\)"
        authed = self._authed
        self.server.route("HEAD", I + re.escape(self.site_path) + "/?")(self._realm_challenge)
        for method, pattern, handler in [
            ("POST", rf"{api}/contextinfo", self._context_info),
            ("GET", folder, self._folder),
            ("GET", rf"{folder}/Files", self._folder_files),
            ("GET", rf"{folder}/Folders", self._folder_folders),
            ("POST", rf"{folder}/Files/add\((.*)\)", self._upload),
            ("POST", rf"{api}/web/RootFolder/Folders/Add\({LIT}\)", self._add_root),
            ("POST", rf"{folder}/Folders/Add\({LIT}\)", self._add_folder),
            ("POST", rf"{folder}/Recycle", self._recycle_folder),
            ("GET", rf"{api}/web/getFileByServerRelativeUrl\({LIT}\)/\$value", self._download),
            ("GET", lst, self._list),
            ("POST", rf"{lst}/items", self._add_item),
            ("POST", rf"{lst}/getItemById\((\d+)\)", self._item_post),
        ]:
            self.server.route(method, pattern)(authed(handler))

    def _authed(self, handler: Any) -> Any:
        def check(rec: Recorded, m: re.Match[str]) -> Response:
            if rec.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
                return Response(
                    401,
                    {"error_description": "Invalid JWT token. The token is expired."},
                    {"WWW-Authenticate": 'Bearer realm="fake", client_id="00000003"'},
                )
            return handler(rec, m)  # type: ignore[no-any-return]

        return check

    def _realm_challenge(self, rec: Recorded, m: re.Match[str]) -> Response:
        """ACS app-only sign-in first sends an empty bearer to learn the tenant's realm."""
        challenge = (
            f'Bearer realm="{self.realm}",client_id="{SHAREPOINT_PRINCIPAL}",'
            'trusted_issuers="00000001-0000-0000-c000-000000000000@*",'
            'authorization_uri="https://login.windows.net/common/oauth2/authorize"'
        )
        return Response(401, headers={"WWW-Authenticate": challenge})

    def _context_info(self, rec: Recorded, m: re.Match[str]) -> Response:
        info = {
            "__metadata": {"type": "SP.ContextWebInformation"},
            "FormDigestTimeoutSeconds": 1800,
            "FormDigestValue": "0xFAKEDIGEST,01 Jan 2025 00:00:00 -0000",
            "LibraryVersion": "16.0.0.0",
            "SiteFullUrl": self.site_url,
            "SupportedSchemaVersions": {"results": ["14.0.0.0", "15.0.0.0"]},
            "WebFullUrl": self.site_url,
        }
        return Response(200, {"d": {"GetContextWebInformation": info}})

    # -- folders and files ---------------------------------------------------------
    def _resolve(self, raw: str) -> str:
        return self.path(_literal(raw))

    def _missing_folder(self, path: str) -> Response:
        return sp_error(404, "-2147024894, System.IO.FileNotFoundException", "File Not Found.")

    def _folder(self, rec: Recorded, m: re.Match[str]) -> Response:
        path = self._resolve(m.group(1))
        if path not in self.folders:
            return self._missing_folder(path)
        body = self._folder_json(path)
        expand = ",".join(rec.query.get("$expand", [])).lower()
        if "files" in expand:
            body["Files"] = {"results": self._children_files(path)}
        if "folders" in expand:
            body["Folders"] = {"results": self._children_folders(path)}
        return Response(200, {"d": body})

    def _folder_files(self, rec: Recorded, m: re.Match[str]) -> Response:
        path = self._resolve(m.group(1))
        if path not in self.folders:
            return self._missing_folder(path)
        return Response(200, {"d": {"results": self._children_files(path)}})

    def _folder_folders(self, rec: Recorded, m: re.Match[str]) -> Response:
        path = self._resolve(m.group(1))
        if path not in self.folders:
            return self._missing_folder(path)
        return Response(200, {"d": {"results": self._children_folders(path)}})

    def _children_files(self, parent: str) -> list[dict[str, Any]]:
        return [self._file_json(p) for p in sorted(self.files) if p.rsplit("/", 1)[0] == parent]

    def _children_folders(self, parent: str) -> list[dict[str, Any]]:
        return [self._folder_json(p) for p in sorted(self.folders) if p.rsplit("/", 1)[0] == parent]

    def _add_root(self, rec: Recorded, m: re.Match[str]) -> Response:
        path = self.add_folder(f"{self.site_path}/{_literal(m.group(1))}")
        return Response(200, {"d": self._folder_json(path)})

    def _add_folder(self, rec: Recorded, m: re.Match[str]) -> Response:
        parent = self._resolve(m.group(1))
        if parent not in self.folders:
            return self._missing_folder(parent)
        # Folders.Add on an existing folder answers that folder, as SharePoint does.
        path = self.add_folder(f"{parent}/{_literal(m.group(2))}")
        return Response(200, {"d": self._folder_json(path)})

    def _recycle_folder(self, rec: Recorded, m: re.Match[str]) -> Response:
        """Folder.Recycle: the folder and everything below it go to the Recycle Bin."""
        path = self._resolve(m.group(1))
        if path not in self.folders:
            return self._missing_folder(path)
        for doomed in [p for p in self.folders if p == path or p.startswith(path + "/")]:
            del self.folders[doomed]
        for doomed in [p for p in self.files if p.startswith(path + "/")]:
            del self.files[doomed]
        self.recycled.append(path)
        return Response(200, {"d": {"Recycle": str(uuid.uuid4())}})

    def _upload(self, rec: Recorded, m: re.Match[str]) -> Response:
        folder = self._resolve(m.group(1))
        if folder not in self.folders:
            return self._missing_folder(folder)
        text = unquote(m.group(2))
        args = {a[1]: a[2] for a in re.finditer(rf"(\w+)=({LIT}|\w+)", text)}
        name = args.get("url", "''")[1:-1].replace("''", "'")
        path = f"{folder}/{name}"
        if path in self.files and args.get("overwrite", "false").lower() != "true":
            return sp_error(
                400,
                "-2130575257, Microsoft.SharePoint.SPException",
                f"A file with the name {path} already exists.",
            )
        self.files[path] = (rec.body, _now())
        return Response(200, {"d": self._file_json(path)})

    def _download(self, rec: Recorded, m: re.Match[str]) -> Response:
        path = self._resolve(m.group(1))
        if path not in self.files:
            return sp_error(
                404, "-2130575338, Microsoft.SharePoint.SPException", f"The file {path} does not exist."
            )
        return Response(200, self.files[path][0], {"Content-Type": "application/octet-stream"})

    def _folder_json(self, path: str) -> dict[str, Any]:
        api = f"{self.site_url}/_api/Web/GetFolderByServerRelativePath(decodedurl='{path}')"
        return {
            "__metadata": {"id": api, "uri": api, "type": "SP.Folder"},
            "Files": {"__deferred": {"uri": f"{api}/Files"}},
            "Folders": {"__deferred": {"uri": f"{api}/Folders"}},
            "Exists": True,
            "IsWOPIEnabled": False,
            "ItemCount": sum(1 for p in [*self.files, *self.folders] if p.rsplit("/", 1)[0] == path),
            "Name": path.rsplit("/", 1)[1],
            "ProgID": None,
            "ServerRelativeUrl": path,
            "TimeCreated": self.folders[path],
            "TimeLastModified": self.folders[path],
            "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, path)),
            "WelcomePage": "",
        }

    def _file_json(self, path: str) -> dict[str, Any]:
        content, modified = self.files[path]
        api = f"{self.site_url}/_api/Web/GetFileByServerRelativePath(decodedurl='{path}')"
        unique = str(uuid.uuid5(uuid.NAMESPACE_URL, path))
        return {
            "__metadata": {"id": api, "uri": api, "type": "SP.File"},
            "Author": {"__deferred": {"uri": f"{api}/Author"}},
            "CheckInComment": "",
            "CheckOutType": 2,
            "ContentTag": f"{{{unique}}},1,1",
            "CustomizedPageStatus": 0,
            "ETag": f'"{{{unique}}},1"',
            "Exists": True,
            "IrmEnabled": False,
            "Length": str(len(content)),  # Edm.Int64: a string
            "Level": 1,
            "LinkingUri": None,
            "LinkingUrl": "",
            "MajorVersion": 1,
            "MinorVersion": 0,
            "Name": path.rsplit("/", 1)[1],
            "ServerRelativeUrl": path,
            "TimeCreated": modified,
            "TimeLastModified": modified,
            "Title": None,
            "UIVersion": 512,
            "UIVersionLabel": "1.0",
            "UniqueId": unique,
        }

    # -- lists -----------------------------------------------------------------------
    def _get_list(self, raw: str) -> SpList | Response:
        title = _literal(raw)
        found = self.lists.get(title)
        if found is None:
            return sp_error(
                404,
                "-1, System.ArgumentException",
                f"List '{title}' does not exist at site with URL '{self.site_url}'.",
            )
        return found

    def _list(self, rec: Recorded, m: re.Match[str]) -> Response:
        lst = self._get_list(m.group(1))
        if isinstance(lst, Response):
            return lst
        return Response(
            200,
            {
                "d": {
                    "__metadata": {"type": "SP.List"},
                    "Title": lst.title,
                    "ItemCount": len(lst.items),
                    "ListItemEntityTypeFullName": lst.entity_type,
                    "BaseTemplate": 100,
                    "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, lst.title)),
                }
            },
        )

    def _add_item(self, rec: Recorded, m: re.Match[str]) -> Response:
        lst = self._get_list(m.group(1))
        if isinstance(lst, Response):
            return lst
        data = dict(rec.json() or {})
        declared = data.pop("__metadata", {}).get("type")
        if declared != lst.entity_type:
            return sp_error(
                400,
                "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                f"A type named '{declared}' could not be resolved by the model.",
            )
        for name in data:
            if name not in lst.fields:
                return sp_error(
                    400,
                    "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                    f"The property '{name}' does not exist on type '{lst.entity_type}'. "
                    "Make sure to only use property names that are defined by the type.",
                )
        item_id = next(lst.next_id)
        lst.items[item_id] = data
        uri = f"{self.site_url}/_api/Web/Lists(guid'x')/Items({item_id})"
        return Response(
            201,
            {
                "d": {
                    "__metadata": {"id": uri, "uri": uri, "type": lst.entity_type},
                    "Id": item_id,
                    "ID": item_id,
                    **data,
                    "Created": _now(),
                    "Modified": _now(),
                    "GUID": str(uuid.uuid4()),
                }
            },
        )

    def _item_post(self, rec: Recorded, m: re.Match[str]) -> Response:
        lst = self._get_list(m.group(1))
        if isinstance(lst, Response):
            return lst
        if rec.headers.get("x-http-method", "").upper() != "DELETE":
            return sp_error(400, "-1, System.NotSupportedException", "Not supported by the fake")
        if lst.items.pop(int(m.group(2)), None) is None:
            return sp_error(
                404,
                "-2147024809, System.ArgumentException",
                "Item does not exist. It may have been deleted by another user.",
            )
        return Response(200)


class FakeAcs:
    """Azure ACS's token endpoint (``accounts.accesscontrol.windows.net``), over TLS.

    Issues app-only tokens for the SharePoint principal at the fake site's host
    and tells the fake site to accept them. Reach it through ``ConnectTunnel``.
    """

    def __init__(self, tls: ssl.SSLContext, site: FakeSharePoint, client_id: str, client_secret: str) -> None:
        self.server = FakeServerPlus(tls=tls)
        self.site = site
        self.client = (client_id, client_secret)
        self.issued: list[str] = []
        self.server.route("POST", r"/([\w-]+)/tokens/OAuth/2")(self._token)

    def __enter__(self) -> FakeAcs:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _token(self, rec: Recorded, m: re.Match[str]) -> Response:
        realm, form = m.group(1), rec.form()
        host = urlsplit(self.site.site_url).hostname
        expected = {
            "grant_type": "client_credentials",
            "client_id": f"{self.client[0]}@{realm}",
            "client_secret": self.client[1],
            "resource": f"{SHAREPOINT_PRINCIPAL}/{host}@{realm}",
        }
        if realm != self.site.realm or any(form.get(k) != v for k, v in expected.items()):
            return Response(401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            })  # fmt: skip
        token = f"acs-token-{len(self.issued) + 1}"
        self.issued.append(token)
        self.site.tokens.add(token)
        return Response(200, {
            "token_type": "Bearer", "access_token": token, "expires_in": "86399",
            "not_before": "1700000000", "expires_on": "1700086399",
            "resource": expected["resource"],
        })  # fmt: skip


def _literal(raw: str) -> str:
    """An OData string literal from the URL: percent-decoded, '' -> '."""
    return unquote(raw).replace("''", "'")
