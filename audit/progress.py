"""Progress of long work: a bar on a terminal (rich's), plain lines when not on one (a log, CI).

``Progress(label)`` is a context manager; ``update(done, total)`` may be called as often as
wanted. Plain output is one line per tenth done and one at the end, on standard error, so
standard output stays the command's answer.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO

from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
from rich.progress import Progress as Bar


class Progress:
    def __init__(self, label: str, stream: IO[str] | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self._bar: Bar | None = None
        self._task: object = None
        self._reported = -1

    def __enter__(self) -> Progress:
        if self.stream.isatty():
            self._bar = Bar(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(self.label, total=total)
            self._bar.update(self._task, completed=done, total=total)  # type: ignore[arg-type]
            return
        tenth = done * 10 // total if total else 10
        if tenth > self._reported:
            self._reported = tenth
            print(f"{self.label}: {done}/{total}", file=self.stream, flush=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, error, traceback)
