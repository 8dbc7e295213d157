"""The exchange use cases' collaborators, as the API and the portal inject them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.deps import from_app_state
from gateway.exchanges.work import Exchanges

ExchangesDep = Annotated[Exchanges, Depends(from_app_state("exchanges"))]
