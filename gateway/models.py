"""Every domain's models, imported in one place so migrations and tests see the whole schema."""

from gateway.auth.models import UsedClientAssertion
from gateway.db import Base
from gateway.organisations.models import Organisation, OrganisationKey

metadata = Base.metadata

__all__ = ["Organisation", "OrganisationKey", "UsedClientAssertion", "metadata"]
