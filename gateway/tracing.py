"""W3C Trace Context (https://www.w3.org/TR/trace-context/): one trace per API call, recorded
in every audit entry the call appends, as Logboek Dataverwerkingen asks.

A request's ``traceparent`` (version 00: ``00-<32 hex trace id>-<16 hex parent id>-<2 hex
flags>``) is continued; one that is absent or malformed starts a new trace. The gateway's own
span gets a fresh id, which every entry of the call records as ``span_id`` and the response
returns in its ``traceparent``. Maintenance runs and CLI commands start a trace of their own.
Hand-written: the header is one line of fixed-width hex, and an OpenTelemetry SDK for it alone
would put an exporter pipeline on the request path.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

TRACE_ID = r"^[0-9a-f]{32}$"
_TRACEPARENT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?$"
)
_INVALID_TRACE = "0" * 32
_INVALID_SPAN = "0" * 16


@dataclass(frozen=True)
class Trace:
    trace_id: str
    span_id: str  # the gateway's span in this trace
    flags: str = "01"

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


_current: ContextVar[Trace | None] = ContextVar("trace", default=None)


def continued(traceparent: str | None) -> Trace:
    """The trace a request's ``traceparent`` names, with a new span of ours; a new trace when
    the header is absent or invalid (version ff, all-zero ids, extra fields on version 00)."""
    found = _TRACEPARENT.match((traceparent or "").strip())
    span = secrets.token_hex(8)
    if (
        found is None
        or found["version"] == "ff"
        or (found["version"] == "00" and found["rest"])
        or found["trace"] == _INVALID_TRACE
        or found["parent"] == _INVALID_SPAN
    ):
        return Trace(secrets.token_hex(16), span)
    return Trace(found["trace"], span, found["flags"])


def begin(trace: Trace | None = None) -> Trace:
    """Make ``trace`` (default: a new one) the current context's trace."""
    trace = trace or continued(None)
    _current.set(trace)
    structlog.contextvars.bind_contextvars(trace_id=trace.trace_id)
    return trace


def current() -> Trace | None:
    return _current.get()
