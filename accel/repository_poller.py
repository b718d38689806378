"""Polling of the model repository directory (Triton's `poll` control mode): a new model directory
is loaded, a removed one unloaded, a changed one reloaded, and the versions served before keep
serving whenever a load fails."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from accel.errors import AccelError, ModelConfigError
from accel.repository import ModelRepository

log = logging.getLogger(__name__)

Fingerprint = frozenset[tuple[str, int, int, int]]
"""Every file and directory under a model directory as (relative path, size, mtime ns, inode);
directories carry -1s, so adding an empty version directory counts as a change too."""


def scan_repository(root: Path) -> dict[str, Fingerprint]:
    """The fingerprint of every model directory under `root` (hidden ones left out, as the
    repository leaves them out)."""
    if not root.is_dir():
        raise ModelConfigError(f"model repository {root} is not a directory")
    return {
        entry.name: _fingerprint(Path(entry.path))
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    }


def _fingerprint(model_dir: Path) -> Fingerprint:
    entries: list[tuple[str, int, int, int]] = []
    for directory, subdirectories, files in os.walk(model_dir):
        relative = os.path.relpath(directory, model_dir)
        entries.extend((os.path.join(relative, name), -1, -1, -1) for name in subdirectories)
        for name in files:
            try:
                stat = os.stat(os.path.join(directory, name))
            except FileNotFoundError:  # removed while scanning; the next scan sees the removal
                continue
            entries.append((os.path.join(relative, name), stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return frozenset(entries)


class RepositoryPoller:
    """Every `interval_s`, brings `repository` in line with its directory.

    A model directory is acted on once its fingerprint has held still between two scans and
    differs from the one last acted on: new -> load, gone -> unload (its queue drains), changed ->
    reload (the swap that fails no request). A load that fails is logged and not retried until
    the directory changes again. A model unloaded through RepositoryModelUnload stays unloaded
    until its directory changes. Use as `async with RepositoryPoller(repository, 5.0):`.
    """

    def __init__(self, repository: ModelRepository, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.repository = repository
        self.interval_s = interval_s
        self._acted_on: dict[str, Fingerprint] = {}
        self._previous: dict[str, Fingerprint] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take the baseline (the directory as it is now counts as applied) and start polling."""
        if self._task is not None:
            return
        baseline = await asyncio.to_thread(scan_repository, self.repository.root)
        self._acted_on = dict(baseline)
        self._previous = dict(baseline)
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._poll_until_stopped(), name="repository-poller")

    async def stop(self) -> None:
        """Stop polling. A load or unload under way finishes first (within the repository's
        drain period), so no batcher is left half-swapped. Safe to call twice."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await task

    async def __aenter__(self) -> RepositoryPoller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _poll_until_stopped(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
            except TimeoutError:
                await self.poll()

    async def poll(self) -> None:
        """Scan once and act on every change that has held still since the previous scan."""
        try:
            current = await asyncio.to_thread(scan_repository, self.repository.root)
        except (OSError, ModelConfigError) as exc:
            log.warning("model repository poll skipped: %s", exc)
            return
        for name in sorted(current.keys() | self._acted_on.keys()):
            if self._stopping.is_set():
                return
            now = current.get(name)
            if now == self._acted_on.get(name) or now != self._previous.get(name):
                continue  # unchanged, or still changing: look again next time
            if now is None:
                del self._acted_on[name]
            else:
                self._acted_on[name] = now
            await self._act(name, removed=now is None)
        self._previous = current

    async def _act(self, name: str, removed: bool) -> None:
        try:
            if removed:
                await self.repository.remove(name)
            else:
                await self.repository.load(name)
        except AccelError as exc:
            log.error("model repository poll: %s not loaded (versions served before stay served): %s", name, exc)
        except Exception:  # one model's unexpected failure must not end polling for the others
            log.exception("model repository poll: %s failed to %s", name, "unload" if removed else "load")
