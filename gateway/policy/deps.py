"""The policy decider, as the API and the portal inject it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.deps import from_app_state
from gateway.policy.service import PolicyDecider

DeciderDep = Annotated[PolicyDecider, Depends(from_app_state("policy"))]
