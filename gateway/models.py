"""Every domain's models, imported in one place so migrations and tests see the whole schema."""

from audit.tables import metadata as audit_metadata
from gateway.auth.models import UsedClientAssertion
from gateway.children.models import Child, Guardian
from gateway.consent.models import Consent, Notice
from gateway.db import Base
from gateway.exchanges.models import Exchange, Payload
from gateway.organisations.models import Organisation, OrganisationKey
from gateway.oversight.models import BreakGlassReview

metadata = Base.metadata
# Everything migrations manage: the gateway's models and the audit package's tables.
all_metadata = (metadata, audit_metadata)

__all__ = [
    "BreakGlassReview",
    "Child",
    "Consent",
    "Exchange",
    "Guardian",
    "Notice",
    "Organisation",
    "OrganisationKey",
    "Payload",
    "UsedClientAssertion",
    "all_metadata",
    "metadata",
]
