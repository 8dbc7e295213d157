"""Levels of assurance of a portal login: the OpenID Connect ``acr`` values that DigiD and
eHerkenning brokers use, their names in Dutch, and the levels the portal asks by default.

The dossiers hold special-category data, so parents and children log in with at least DigiD
Substantieel and privacy officers with at least eHerkenning EH3. The settings
``GATEWAY_OIDC_PARENT_ACR_VALUES`` and ``GATEWAY_OIDC_OFFICER_ACR_VALUES`` replace these lists
for a broker that names its levels otherwise.
"""

from __future__ import annotations

_SAML = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
_ETOEGANG = "urn:etoegang:core:assurance-class:"

DIGID_BASIS = f"{_SAML}PasswordProtectedTransport"
DIGID_MIDDEN = f"{_SAML}MobileTwoFactorContract"
DIGID_SUBSTANTIEEL = f"{_SAML}Smartcard"
DIGID_HOOG = f"{_SAML}SmartcardPKI"
EH2 = f"{_ETOEGANG}loa2"
EH2_PLUS = f"{_ETOEGANG}loa2plus"
EH3 = f"{_ETOEGANG}loa3"
EH4 = f"{_ETOEGANG}loa4"

NAMES = {
    DIGID_BASIS: "DigiD Basis",
    DIGID_MIDDEN: "DigiD Midden",
    DIGID_SUBSTANTIEEL: "DigiD Substantieel",
    DIGID_HOOG: "DigiD Hoog",
    EH2: "eHerkenning EH2",
    EH2_PLUS: "eHerkenning EH2+",
    EH3: "eHerkenning EH3",
    EH4: "eHerkenning EH4",
}

PARENT_DEFAULT = f"{DIGID_SUBSTANTIEEL} {DIGID_HOOG}"
OFFICER_DEFAULT = f"{EH3} {EH4}"


def name(acr: str) -> str:
    """The level as people know it; an unknown value as it is."""
    return NAMES.get(acr, acr)


def names(accepted: tuple[str, ...]) -> str:
    """The accepted levels for a sentence: "DigiD Substantieel of DigiD Hoog"."""
    named = [name(acr) for acr in accepted]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} of {named[-1]}"
