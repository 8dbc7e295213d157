"""Every domain's models, imported in one place so migrations and tests see the whole schema."""

from audit.tables import metadata as audit_metadata
from gateway.auth.models import UsedClientAssertion
from gateway.children.models import Child, Guardian
from gateway.consent.models import Consent, Notice
from gateway.db import Base
from gateway.decisions.models import DecisionRecord, PolicyBundleRecord
from gateway.exchanges.models import Exchange, Payload
from gateway.leases import JobLease
from gateway.notifications.models import ContactAddress, MailMessage
from gateway.organisations.models import (
    Organisation,
    OrganisationCertificate,
    OrganisationKey,
    RegionGemeente,
)
from gateway.oversight.models import BreakGlassReview
from gateway.portal.logins import PortalLogin
from gateway.rate_limits import RateCounter
from gateway.signals.models import AbsenceSignal, AtHomeAlert, Exemption
from gateway.staff.models import StaffMember
from gateway.statistics.models import StatisticsSnapshot
from gateway.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription

metadata = Base.metadata
# Everything migrations manage: the gateway's models and the audit package's tables.
all_metadata = (metadata, audit_metadata)

__all__ = [
    "AbsenceSignal",
    "AtHomeAlert",
    "BreakGlassReview",
    "Child",
    "Consent",
    "ContactAddress",
    "DecisionRecord",
    "Exchange",
    "Exemption",
    "Guardian",
    "JobLease",
    "MailMessage",
    "Notice",
    "Organisation",
    "OrganisationCertificate",
    "OrganisationKey",
    "Payload",
    "PolicyBundleRecord",
    "PortalLogin",
    "RateCounter",
    "RegionGemeente",
    "StaffMember",
    "StatisticsSnapshot",
    "UsedClientAssertion",
    "WebhookAttempt",
    "WebhookMessage",
    "WebhookSubscription",
    "all_metadata",
    "metadata",
]
