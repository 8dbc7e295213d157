"""The signal service, as the API and the portal inject it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.deps import from_app_state
from gateway.signals.service import Signals

SignalsDep = Annotated[Signals, Depends(from_app_state("signals"))]
