"""Outputs and the segment store on an fsspec URL (s3://bucket/audiobooks, gcs://..., ...).

A job whose output root is a URL works in a local mirror of its book folder (the same layout,
under the user's cache folder) and publishes every file that means "done" to the URL as soon
as it is complete: each segment, mastered chapter, chapter record, the manifest, build.json,
the cast file, the planned job and the outputs. An object store makes an object visible only
once it is fully uploaded, so a file under its final name is complete there too. A machine
that lacks a file locally fetches it from the URL: a fresh machine, or another worker of the
pool, resumes from what any machine finished.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from narration.atomic import atomic_path


def is_url(location: str | os.PathLike[str]) -> bool:
    return "://" in str(location)


def mirror_root(url: str) -> Path:
    """The local folder that mirrors output root `url` (one per URL, under the cache folder)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:12]
    return cache / "narration" / "remote" / digest


def _is_object_store(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return bool(set(protocols) & {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})


class Mirror:
    """The local folder `local` and the remote folder `url` it mirrors, file for file."""

    def __init__(self, url: str, local: Path) -> None:
        self.url = url.rstrip("/")
        self.local = Path(local)
        self._fs: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # travels to worker processes without its client
        return {"url": self.url, "local": self.local}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["local"])  # type: ignore[misc]

    @property
    def fs(self) -> Any:
        with self._lock:
            if self._fs is None:
                import fsspec

                self._fs, _ = fsspec.core.url_to_fs(self.url)
            return self._fs

    def remote(self, path: Path) -> str:
        relative = Path(path).resolve().relative_to(self.local.resolve())
        return f"{self.url}/{relative.as_posix()}"

    def publish(self, path: Path) -> None:
        """Upload `path` (a file, or a folder's files) to its place under the URL."""
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.name.startswith("."):  # never a temp or lock file
                continue
            self._put(file, self.remote(file))

    def _put(self, file: Path, remote: str) -> None:
        """An object store shows an object only once it is whole; on a filesystem (file://,
        a mounted share, sftp) the upload goes to a temp name, renamed when complete."""
        folder, name = remote.rsplit("/", 1)
        atomic = not _is_object_store(self.fs)
        staging = f"{folder}/.{name}.part" if atomic else remote
        try:
            self.fs.put_file(str(file), staging)
        except FileNotFoundError:  # its folder is not there yet
            self.fs.makedirs(folder, exist_ok=True)
            self.fs.put_file(str(file), staging)
        if atomic:
            self.fs.mv(staging, remote)

    def fetch(self, path: Path) -> bool:
        """Make sure `path` is here, downloading it when only the URL has it; False: nowhere."""
        path = Path(path)
        if path.is_file():
            return True
        remote = self.remote(path)
        if not self.fs.exists(remote):
            return False
        with atomic_path(path) as tmp:
            self.fs.get_file(remote, str(tmp))
        return True

    def exists(self, path: Path) -> bool:
        return Path(path).is_file() or bool(self.fs.exists(self.remote(path)))

    def names(self, folder: Path) -> set[str]:
        """The names of the files under `folder` at the URL (recursively)."""
        remote = self.remote(folder)
        try:
            found = self.fs.find(remote)
        except FileNotFoundError:
            return set()
        return {str(p).rsplit("/", 1)[-1] for p in found}
