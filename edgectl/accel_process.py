"""An accelerator server in a child process, for the embedded dev stack and the benchmarks."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from edge.lifecycle import terminate_child


class AccelProcess:
    """`edge accel serve` as its own process, as on a real site (the demo and the benchmarks)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self._env = env
        self._ready_file = workdir / "accel.port"
        self._log = workdir / "accel.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float) -> None:
        with open(self._log, "wb") as out:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edgectl", "accel", "serve", "--ready-file", str(self._ready_file),
                env=self._env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout_s
        while not self._ready_file.exists():
            if self._process.returncode is not None or loop.time() > until:
                raise RuntimeError(f"accelerator did not start; its log:\n{self._log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the benchmarks read its memory and CPU)."""
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        process, self._process = self._process, None
        await terminate_child(process, 15)
