"""All configuration of the gateway, read from ``GATEWAY_*`` environment variables.

One ``Settings`` object is built at start and passed down; no module reads the environment
itself. Secrets (signing and pseudonymisation keys) are settings too, but they are resolved
into usable key objects by :mod:`gateway.keys`, which in dev generates missing ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import limits
from authlib.common.security import is_secure_transport
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.auditing.witnessing import Witnesses
from gateway.policy.bundle import default_policy_dir
from gateway.portal import assurance

Environment = Literal["dev", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    environment: Environment = "dev"
    data_dir: Path = Field(
        default=Path("var"),
        description="Where the dev database, the dev key file and demo credentials live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL clients use to reach the gateway; the token audience is derived "
        "from it.",
    )
    token_signing_key: SecretStr | None = Field(
        default=None, description="PEM EC P-256 private key that signs access tokens."
    )
    token_retired_keys: str | None = Field(
        default=None,
        description="PEM keys (public halves are enough) of earlier token signing keys, "
        "concatenated: still published in the JWKS and accepted, so tokens signed before a "
        "rotation keep working. Remove them once access_token_lifetime has passed.",
    )
    pseudonymisation_key: SecretStr | None = Field(
        default=None, description="Base64 secret (32 bytes) for the keyed BSN pseudonym."
    )
    checkpoint_signing_key: SecretStr | None = Field(
        default=None, description="PEM Ed25519 private key that signs audit checkpoints."
    )
    checkpoint_retired_keys: str | None = Field(
        default=None,
        description="Note verifier keys (<name>+<hash>+<key>, as /api/v1/audit/verifier-key "
        "shows them) of earlier checkpoint signing keys, separated by spaces: checkpoints "
        "signed before a rotation keep verifying. Keep them for as long as the log exists.",
    )
    payload_master_keys: SecretStr | None = Field(
        default=None,
        description="Master keys that wrap each payload's data key: <id>:<base64 32 bytes>, "
        "comma-separated, the first one current.",
    )
    audit_origin: str | None = Field(
        default=None,
        description="Origin line of audit checkpoints and name of their key; default: "
        "<host of the public URL>/audit.",
    )
    audit_witnesses: str | None = Field(
        default=None,
        description="Witnesses that cosign the audit log's checkpoints (C2SP tlog-witness), "
        "separated by spaces: <witness verifier key>=<base URL>. Each new checkpoint is sent "
        "to them by maintenance.",
    )
    audit_witness_quorum: int | None = Field(
        default=None,
        ge=1,
        description="How many of the witnesses must cosign a checkpoint before "
        "/api/v1/audit/checkpoint serves it; default: all of them.",
    )
    access_token_lifetime: int = Field(default=300, ge=30, le=3600, description="Seconds.")
    client_assertion_max_lifetime: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="Seconds between an assertion's iat (or now) and its exp that we accept.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    tls_cert_file: Path | None = Field(
        default=None,
        description="PEM certificate (with its chain) for `gateway serve` to terminate TLS "
        "itself; with tls_key_file. Unset: plain HTTP, for a reverse proxy in front.",
    )
    tls_key_file: Path | None = Field(default=None, description="PEM key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        default=None,
        description="PEM bundle of the CA certificates (PKIoverheid) that client certificates "
        "of tls_client_auth must chain to (RFC 8705 §2.1). `gateway serve` with TLS asks "
        "clients for a certificate and trusts these and the registered self-signed ones.",
    )
    tls_client_cert_header: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]+$",
        description="Behind a reverse proxy that terminates mutual TLS: the header in which "
        "it passes the client certificate (URL-escaped PEM, nginx $ssl_client_escaped_cert). "
        "Set it only when every request comes through that proxy and it overwrites the header "
        "on each; then the header is the only source of client certificates.",
    )
    registry_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=2,
        description="How long a process holds its copy of an organisation (with its keys and "
        "certificates) or staff member for the request path (0: not at all). Changes clear "
        "the copies at once (other replicas: through PostgreSQL NOTIFY); this is the bound "
        "when a notification is missed, so a suspension or a removed staff member stops "
        "tokens on every replica within it.",
    )
    tls_trust_refresh: int = Field(
        default=30,
        ge=1,
        description="Seconds between reloads of the registered self-signed client certificates "
        "into the TLS handshake's trust (for those registered through another process).",
    )
    tls_revocation_refresh: int = Field(
        default=300,
        ge=1,
        description="Seconds between fetches of the known CRLs of client CAs: a revoked "
        "certificate's tokens stop working within one refresh.",
    )
    tls_crl_grace: int = Field(
        default=3600,
        ge=0,
        description="Seconds past a CRL's nextUpdate that it is still used when no newer one "
        "can be fetched; after that its CA is stale.",
    )
    tls_revocation_soft_fail: bool = Field(
        default=False,
        description="Let certificates of a stale CA (no current CRL) through instead of "
        "refusing them; the CA still shows as stale in /health/ready and the metrics.",
    )
    tls_ocsp: bool = Field(
        default=False,
        description="Ask the OCSP responder named in a client certificate (RFC 6960) before "
        "its CRL.",
    )
    policy_dir: Path = Field(
        default_factory=default_policy_dir, description="The Rego policy bundle (policies/)."
    )
    opa_url: str | None = Field(
        default=None,
        description="An OPA server to ask instead of the in-process engine, e.g. "
        "http://127.0.0.1:8181.",
    )
    opa_timeout: float = Field(default=1.0, gt=0, le=30, description="Seconds per OPA query.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    session_secret: SecretStr | None = Field(
        default=None, description="Base64 secret (32 bytes) that signs portal session cookies."
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect provider for portal login (in production a DigiD and "
        "eHerkenning broker); in dev, unset means the built-in dev provider at "
        "<public_url>/dev-oidc.",
    )
    oidc_client_id: str = Field(
        default="kindkoppeling-portal", description="The portal's client id at the provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The portal's client secret at the provider."
    )
    oidc_scopes: str = Field(
        default="openid profile",
        pattern=r"(^|\s)openid(\s|$)",
        description="The scopes the portal asks the provider for, separated by spaces "
        "(openid among them): those under which the broker releases the claims below.",
    )
    oidc_bsn_claim: str = Field(
        default="bsn", min_length=1, description="The claim that carries a citizen's BSN."
    )
    oidc_roles_claim: str = Field(
        default="roles",
        min_length=1,
        description="The claim that lists a person's roles; privacy_officer among them makes "
        "them an officer.",
    )
    oidc_organisation_claim: str = Field(
        default="organisation",
        min_length=1,
        description="The claim that names an officer's organisation, as <role>:<identifier>.",
    )
    oidc_parent_acr_values: str = Field(
        default=assurance.PARENT_DEFAULT,
        pattern=r"\S",
        description="The acr values (levels of assurance) accepted for parents and children, "
        "separated by spaces; sent as acr_values and checked against the ID token's acr. "
        "Default: DigiD Substantieel or Hoog.",
    )
    oidc_officer_acr_values: str = Field(
        default=assurance.OFFICER_DEFAULT,
        pattern=r"\S",
        description="The acr values accepted for privacy officers, likewise. Default: "
        "eHerkenning EH3 or EH4.",
    )
    migrate_at_start: bool | None = Field(
        default=None,
        description="Apply pending database migrations when the service starts (each process "
        "takes the migration lock first, so starting together is safe); unset: in dev yes, in "
        "production no (run `gateway db upgrade` before the start).",
    )
    maintenance_interval: int = Field(
        default=300,
        ge=0,
        description="Seconds between maintenance runs (expiry, shredding) inside serve; 0: off.",
    )
    outbox_interval: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="Seconds between the outbox workers' looks (webhooks, e-mail notices) "
        "inside serve; 0: off (run `gateway webhooks deliver` and `gateway notices send` "
        "instead).",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Where e-mail notices to parents go: smtp://[user:password@]host[:port] "
        "(STARTTLS when offered, required with a password) or smtps://…; unset: no e-mail.",
    )
    mail_from: str = Field(
        default="Kindkoppeling <noreply@kindkoppeling.invalid>",
        max_length=200,
        description="The From of e-mail notices.",
    )

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a Prometheus scraper must send to /metrics; unset: /metrics "
        "is open (keep it off the public network then).",
    )
    rate_limit: str = Field(
        default="600/minute",
        description="API requests per organisation per window, across every process and replica "
        "(e.g. 600/minute, 20/second).",
    )
    token_rate_limit: str = Field(
        default="60/minute",
        description="Token requests per remote address per window, across every process.",
    )
    api_contact_name: str = Field(
        default="kindkoppeling",
        min_length=1,
        max_length=200,
        description="Who runs this gateway, for integrators (info.contact in the OpenAPI "
        "document, beside public_url).",
    )
    api_contact_email: str = Field(
        default="api@kindkoppeling.invalid",
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Where integrators write about the API (info.contact in the OpenAPI "
        "document); set it to your service desk.",
    )
    hsts_max_age: int = Field(
        default=31_536_000,
        ge=0,
        description="Strict-Transport-Security max-age in seconds, sent when public_url is "
        "https; 0: no HSTS header.",
    )

    @field_validator("rate_limit", "token_rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like 600/minute: {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_witnesses(self) -> Settings:
        self.witnesses  # noqa: B018 (parsed here so a wrong value stops the start)
        return self

    @property
    def witnesses(self) -> Witnesses:
        return Witnesses.parse(self.audit_witnesses, self.audit_witness_quorum)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        # The same rule Authlib applies to every token request (RFC 6749 §3.2, RFC 8252 §8.3):
        # checked here so a wrong URL stops the start instead of failing each /oauth/token.
        if not is_secure_transport(value):
            raise ValueError(
                f"{value!r} must be https://, or http:// on a loopback address (localhost, "
                "127.0.0.1, [::1]): OAuth 2 forbids plain http elsewhere. Behind a TLS proxy, "
                "give the https URL clients use."
            )
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'gateway.db'}"

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def token_url(self) -> str:
        return f"{self.public_url}/oauth/token"

    @property
    def api_audience(self) -> str:
        return f"{self.public_url}/api"

    @property
    def checkpoint_origin(self) -> str:
        return self.audit_origin or f"{urlsplit(self.public_url).netloc}/audit"

    @property
    def dev_oidc_issuer(self) -> str:
        return f"{self.public_url}/dev-oidc"

    @property
    def login_issuer(self) -> str | None:
        """Where the portal sends people to log in: the configured provider, or in dev the
        built-in one; None when production has none configured."""
        if self.oidc_issuer:
            return self.oidc_issuer.rstrip("/")
        return self.dev_oidc_issuer if self.is_dev else None

    @property
    def login_origin(self) -> str | None:
        """The login provider's origin, when it is not this site's own."""
        issuer = self.login_issuer
        if issuer is None:
            return None
        login, site = urlsplit(issuer), urlsplit(self.public_url)
        if (login.scheme, login.netloc) == (site.scheme, site.netloc):
            return None
        return f"{login.scheme}://{login.netloc}"

    @property
    def parent_acr_values(self) -> tuple[str, ...]:
        return tuple(self.oidc_parent_acr_values.split())

    @property
    def officer_acr_values(self) -> tuple[str, ...]:
        return tuple(self.oidc_officer_acr_values.split())

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def migrates_at_start(self) -> bool:
        return self.is_dev if self.migrate_at_start is None else self.migrate_at_start

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"
