"""``gateway serve`` in a process of its own, for the scale test and benchmarks/scale_out.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def gateway_process(
    env: dict[str, str], port: int, logs: list[str] | None = None
) -> Iterator[tuple[str, int]]:
    """Start ``gateway serve`` on ``port``, wait until it is ready, and yield its URL and pid;
    stop it when the block ends. ``logs``, when given, collects its output lines."""
    command = [str(Path(sys.executable).with_name("gateway")), "serve", "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL if logs is None else subprocess.PIPE,
        stderr=subprocess.DEVNULL if logs is None else subprocess.STDOUT,
        text=True,
    )
    reader = None
    if logs is not None:
        assert process.stdout is not None
        reader = threading.Thread(target=logs.extend, args=(process.stdout,), daemon=True)
        reader.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start: " + "".join((logs or [])[-20:]))
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)
        if reader is not None and process.stdout is not None:
            reader.join(timeout=10)
            process.stdout.close()
