"""The live policy: loaded at startup, reloaded when the file changes.

A broken edit never takes effect: the last good policy stays and the error is
reported, so a typo cannot lock everyone out (or let everyone in).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from policies.dlp import DlpScanner
from policies.errors import PolicyFileError
from policies.policy_file import PolicyFile, load_policy_file
from policies.rbac import Rbac

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivePolicy:
    file: PolicyFile
    rbac: Rbac
    dlp: DlpScanner
    source: str  # the path, or "built-in defaults"

    @classmethod
    def of(cls, file: PolicyFile, source: str, digest_key: bytes | None = None) -> ActivePolicy:
        return cls(file=file, rbac=Rbac(file), dlp=DlpScanner(file.dlp, digest_key=digest_key),
                   source=source)


class PolicyStore:
    def __init__(self, path: str | None, digest_key: bytes | None = None) -> None:
        self._path = Path(path) if path else None
        self._digest_key = digest_key  # keyed DLP digests cannot be reversed by brute force
        self._mtime: tuple[int, int, int] | None = None  # (mtime_ns, size, inode)
        self._active = ActivePolicy.of(PolicyFile(), "built-in defaults", digest_key)
        self.last_error: str | None = None

    @property
    def current(self) -> ActivePolicy:
        return self._active

    def load(self) -> ActivePolicy:
        """First load: an invalid file is fatal (raises PolicyFileError)."""
        if self._path is not None:
            self._mtime = self._stat()
            self._active = ActivePolicy.of(load_policy_file(self._path), str(self._path),
                                           self._digest_key)
        return self._active

    def refresh(self) -> bool:
        """Reload if the file changed; returns True when a new policy took effect."""
        if self._path is None or self._stat() == self._mtime:
            return False
        self._mtime = self._stat()
        try:
            self._active = ActivePolicy.of(load_policy_file(self._path), str(self._path),
                                           self._digest_key)
        except PolicyFileError as e:
            self.last_error = str(e)
            log.error("policy file rejected, keeping the last good policy: %s", e)
            return False
        self.last_error = None
        log.info("policy file reloaded from %s", self._path)
        return True

    def _stat(self) -> tuple[int, int, int] | None:
        # Size and inode too: two writes inside one timestamp tick (coarse filesystem clocks)
        # or an atomic rename that keeps the mtime must still count as a change.
        assert self._path is not None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
