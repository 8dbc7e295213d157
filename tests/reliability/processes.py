"""``gateway serve`` in a process of its own, for the scale test and benchmarks/scale_out.py."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.waiting import until_answering

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
    try:
        with httpx.Client(base_url=url, timeout=2) as client:
            until_answering(
                client,
                "/health/ready",
                running=lambda: process.poll() is None,
                output=lambda: "".join((logs or [])[-20:]),
                timeout=60,
            )
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)
        if reader is not None and process.stdout is not None:
            reader.join(timeout=10)
            process.stdout.close()
