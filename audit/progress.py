"""Progress of long work: a bar on a terminal (rich's), plain lines when not on one (a log, CI).

``Progress(label)`` is a context manager; ``update(done, total)`` may be called as often as
wanted. Plain output is one line per tenth done and one at the end, on standard error, so
standard output stays the command's answer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
from rich.progress import Progress as Bar

T = TypeVar("T")


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
                console=Console(file=self.stream),
                transient=True,
                # Lines the command prints go above the bar only when they share its
                # terminal; printed to a file or a pipe, they stay there.
                redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=False,
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


def counted(items: Iterable[T], progress: Progress, total: int, every: int = 4096) -> Iterator[T]:
    """``items`` as they come, telling ``progress`` every ``every`` of them and at the end."""
    done = 0
    for item in items:
        yield item
        done += 1
        if done % every == 0:
            progress.update(done, max(total, done))
    progress.update(done, max(total, done))
