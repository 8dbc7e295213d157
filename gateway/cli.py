"""The ``gateway`` command: serve, demo, migrations, the registry, audit, keys, maintenance.

Commands are thin: they build Settings, open a session and call the same services the API uses.
In dev, commands that touch the database bring its schema up to date first, as ``serve`` does.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import store
from audit.export import write_export
from audit.note import Signer
from audit.progress import Progress, counted
from audit.verify import verify_log
from gateway import demo, leases, migrations, tls, tracing
from gateway.auditing import service as auditing
from gateway.auditing.witnessing import standing as witnessing_standing
from gateway.auditing.witnessing import submit_latest
from gateway.auth.assertions import (
    sign_client_assertion,
    staff_token_request_form,
    token_request_form,
)
from gateway.db import make_engine, make_sessionmaker
from gateway.decisions import replay
from gateway.demo_scenario import run_scenario
from gateway.errors import GatewayError
from gateway.exchanges import key_rotation
from gateway.exchanges.maintenance import MAINTENANCE_LEASE, RUN_LEASE, maintain
from gateway.exchanges.payload_schemas import PayloadSchemas, default_schema_dir
from gateway.exchanges.work import Exchanges
from gateway.keys import SECRET_SETTINGS, add_dev_master_key, generate_secrets, load_keys
from gateway.logs import configure_logging
from gateway.metrics.counters import MULTIPROCESS_DIR_VARIABLE
from gateway.notifications.sending import Mailer, SmtpServer
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation, OrganisationStatus
from gateway.policy.service import make_decider
from gateway.settings import Settings
from gateway.signals.service import Signals
from gateway.webhooks.delivery import Deliverer
from gateway.wiring import register_commit_handlers

app = typer.Typer(help="kindkoppeling gateway.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
org_app = typer.Typer(help="The organisation registry.", no_args_is_help=True)
keys_app = typer.Typer(help="The gateway's own keys.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Expiry, shredding and at-home alerts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(keys_app, name="keys")
app.add_typer(maintenance_app, name="maintenance")
webhooks_app = typer.Typer(help="Organisations' webhooks: the outbox.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
notices_app = typer.Typer(help="E-mail notices to parents: the outbox.", no_args_is_help=True)
app.add_typer(notices_app, name="notices")


@app.callback()
def _wire() -> None:
    """kindkoppeling gateway."""
    register_commit_handlers()  # before any command makes a session


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    tracing.begin()  # what the command appends to the audit log shares one trace
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        if settings.migrates_at_start:
            migrations.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            yield session
    except GatewayError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _print_organisation(organisation: Organisation) -> None:
    kids = ",".join(k.kid for k in organisation.keys) or "-"
    typer.echo(
        f"{organisation.id}  {organisation.role.value:<10}  {organisation.identifier:<9}  "
        f"{organisation.status.value:<9}  {organisation.name}  keys={kids}"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP service. In dev (or with GATEWAY_MIGRATE_AT_START=true) migrations run at
    start, once however many workers start; in production run ``gateway db upgrade`` first
    (/health/ready answers 503 until then). A worker that fails to start makes the command exit
    non-zero. Behind a reverse proxy,
    set FORWARDED_ALLOW_IPS to its address so client addresses come from X-Forwarded-For.
    With GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE it serves HTTPS itself and asks clients
    for a certificate (mutual TLS, RFC 8705)."""
    settings = Settings()
    configure_logging(settings.log_level)
    scheme = "https" if settings.tls_cert_file else "http"
    typer.echo(
        f"kindkoppeling on {scheme}://{host}:{port}  (API docs: {scheme}://{host}:{port}/docs)"
    )
    with _metrics_directory(workers):
        tls.serve("gateway.app:create_app", settings, host=host, port=port, workers=workers)


@contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, give them a fresh shared directory for their metric counts (unless
    the operator chose one), so a scrape of any worker adds up all of them."""
    if workers == 1 or os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="kindkoppeling-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR_VARIABLE]


@app.command("demo")
def demo_command(
    scenario: Annotated[
        bool, typer.Option(help="Also run the narrated exchange scenario and print it.")
    ] = True,
) -> None:
    """Register demo organisations of every role, write their credentials file, and run a
    narrated scenario: warme overdracht, a shelter placement under code rood, a verzuim signal,
    and requests left waiting for the dev provider's parents, children and officers (dev only)."""
    settings = Settings()
    if not settings.is_dev:
        typer.echo("error: demo data exists only in dev", err=True)
        raise typer.Exit(1)
    with _session(settings) as session:
        path = demo.seed_demo(session, settings)
        typer.echo(f"Demo organisations registered; credentials (private keys, dev only): {path}")
        if scenario:
            configure_logging("WARNING")  # the narration is the output; decisions are in it
            typer.echo("")
            run_scenario(
                session, _exchanges(settings), load_keys(settings).pseudonymisation_key, typer.echo
            )


@app.command("demo-token")
def demo_token(
    organisation: Annotated[
        str, typer.Argument(help="Role, name or identifier of a demo organisation.")
    ],
    credentials: Annotated[
        Path | None, typer.Option(help="Credentials file; default: the demo's own.")
    ] = None,
    scope: Annotated[str | None, typer.Option(help="Scopes to ask for.")] = None,
    staff: Annotated[
        str | None,
        typer.Option(help="Staff id to act for (token exchange); default: the demo's own."),
    ] = None,
    own: Annotated[
        bool,
        typer.Option(
            "--own", help="The organisation's own token, for its staff register; no staff."
        ),
    ] = False,
) -> None:
    """Get an access token for a demo organisation from the running gateway and print it.

    Calls about children need a token on behalf of a registered staff member (RFC 8693 token
    exchange); that is the default for every organisation that exchanges."""
    settings = Settings()
    path = credentials or demo.credentials_path(settings)
    try:
        document = demo.load_credentials(path)
        entry = demo.find_credentials(document, organisation)
    except (OSError, LookupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    key = ECKey.import_key(entry["private_jwk"])
    token_url, client_id = document["token_url"], entry["client_id"]
    staff_id = None if own else (staff or entry.get("staff_id"))
    if staff_id:
        form = staff_token_request_form(key, client_id, token_url, staff_id, scope)
    else:
        form = token_request_form(sign_client_assertion(key, client_id, token_url), scope)
    try:
        response = httpx.post(token_url, data=form, timeout=10)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {token_url}: {exc}", err=True)
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        typer.echo(f"error: {response.status_code} {response.text}", err=True)
        raise typer.Exit(1)
    typer.echo(response.json()["access_token"])


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the configured database."""
    settings = Settings()
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        migrations.upgrade(engine)
        typer.echo(f"database at revision {migrations.current_revision(engine)}")
    finally:
        engine.dispose()


@org_app.command("add")
def org_add(
    role: Annotated[OrganisationRole, typer.Option(help="Role of the organisation.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    identifier: Annotated[
        str, typer.Option(help="BRIN, LRK/KvK, PO/VO code or GM code, per role.")
    ],
    key_file: Annotated[
        Path | None, typer.Option(help="Public key (PEM or JWK) to register at once.")
    ] = None,
    gemeente: Annotated[
        str | None, typer.Option(help="Gemeentecode where a school or opvang is located.")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="SWV only: a gemeentecode of its region (repeat).")
    ] = None,
) -> None:
    """Register an organisation; prints its id, which is also its OAuth2 client_id."""
    with _session(Settings()) as session:
        organisation = service.register_organisation(
            session,
            actor=auditing.CLI_ACTOR,
            role=role,
            name=name,
            identifier=identifier,
            gemeente=gemeente,
            region=region,
        )
        if key_file is not None:
            service.add_key(session, organisation.id, _read(key_file), actor=auditing.CLI_ACTOR)
        _print_organisation(organisation)


@org_app.command("list")
def org_list(
    role: Annotated[OrganisationRole | None, typer.Option(help="Only this role.")] = None,
    status: Annotated[OrganisationStatus | None, typer.Option(help="Only this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered organisations."""
    with _session(Settings()) as session:
        found = service.list_organisations(session, role=role, status=status)
        if as_json:
            from gateway.organisations.schemas import OrganisationOut

            rows = [OrganisationOut.of(o).model_dump(mode="json") for o in found]
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for organisation in found:
            _print_organisation(organisation)


@org_app.command("suspend")
def org_suspend(
    organisation_id: Annotated[str, typer.Argument(help="Organisation id (client_id).")],
) -> None:
    """Suspend an organisation: no new tokens, and its live tokens stop working."""
    _set_status(organisation_id, OrganisationStatus.SUSPENDED)


@org_app.command("activate")
def org_activate(
    organisation_id: Annotated[str, typer.Argument(help="Organisation id (client_id).")],
) -> None:
    """Lift a suspension."""
    _set_status(organisation_id, OrganisationStatus.ACTIVE)


def _set_status(organisation_id: str, status: OrganisationStatus) -> None:
    with _session(Settings()) as session:
        organisation = service.set_status(
            session, organisation_id, status, actor=auditing.CLI_ACTOR
        )
        _print_organisation(organisation)


@org_app.command("add-key")
def org_add_key(
    organisation_id: Annotated[str, typer.Argument(help="Organisation id (client_id).")],
    key_file: Annotated[Path, typer.Argument(help="Public key as PEM or JWK JSON; - for stdin.")],
) -> None:
    """Register a public key the organisation signs its client assertions with."""
    with _session(Settings()) as session:
        key = service.add_key(session, organisation_id, _read(key_file), actor=auditing.CLI_ACTOR)
        typer.echo(f"registered key {key.kid} for {organisation_id}")


def _read(path: Path) -> str:
    return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")


audit_app = typer.Typer(
    help="The audit log: checkpoints, export, verification.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


decisions_app = typer.Typer(
    help="Kept decisions: replay them under the policy bundle of their day.", no_args_is_help=True
)
app.add_typer(decisions_app, name="decisions")


@decisions_app.command("replay")
def decisions_replay(
    exchange: Annotated[
        str | None, typer.Option(help="Replay the decisions of this exchange (its id).")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Replay the decisions made from this date (UTC) on.",
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every kept decision.")] = False,
) -> None:
    """Re-evaluate each kept decision's input under the bundle it was decided with, and say per
    decision whether the answer is identical (and what differs if not). Exit 1 on any
    difference, or on a record that no longer matches its audit entry."""
    if sum([exchange is not None, since is not None, all_]) != 1:
        typer.echo("error: give exactly one of --exchange, --since and --all", err=True)
        raise typer.Exit(2)
    settings = Settings()
    with _session(settings) as session, Progress("decisions") as progress:
        query = replay.records(
            exchange_id=exchange, since=since.replace(tzinfo=UTC) if since else None
        )
        counts = {"identical": 0, "different": 0}
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.execution_options(yield_per=replay.BATCH))
        for result in replay.Replayer(session).replay(counted(rows, progress, total, every=64)):
            row = result.record
            verdict = "identical" if result.identical else "different"
            counts[verdict] += 1
            where = f"exchange {row.exchange_id}" if row.exchange_id else f"child {row.child_id}"
            typer.echo(
                f"{verdict.upper():9}  audit #{row.audit_index}  {row.action}  {where}  "
                f"{row.recorded_at:%Y-%m-%d %H:%M:%S}  {row.policy_version[:19]}"
            )
            for fault in result.faults:
                typer.echo(f"    fault: {fault}")
            for key, (then, now) in result.differences.items():
                typer.echo(f"    {key}: recorded {json.dumps(then)}, now {json.dumps(now)}")
    typer.echo(f"{counts['identical']} identical, {counts['different']} different")
    if counts["different"]:
        raise typer.Exit(1)


def _audit_signer(settings: Settings) -> Signer:
    return load_keys(settings).checkpoint_signer(settings.checkpoint_origin)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the log as it is now and print it."""
    settings = Settings()
    with _session(settings) as session:
        typer.echo(auditing.checkpoint(session, _audit_signer(settings)), nl=False)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="Directory to write the export to.")],
) -> None:
    """Write every entry, every checkpoint and the verifier key for offline verification."""
    settings = Settings()
    signer = _audit_signer(settings)
    with _session(settings) as session, Progress("entries") as progress:
        auditing.checkpoint(session, signer)
        leaves = counted(store.iter_leaves(session), progress, store.tree_size(session))
        count = write_export(out, leaves, store.all_checkpoints(session), signer.verifiers)
    typer.echo(f"exported {count} entries to {out}; verify with: python -m audit verify {out}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A signed checkpoint published earlier (a file, e.g. kept by an auditor or "
            "taken before a backup) that the log must still contain; repeat for more.",
        ),
    ] = None,
    witnesses: Annotated[
        bool,
        typer.Option(
            "--witnesses",
            help="Also send the latest checkpoint to the configured witnesses "
            "(GATEWAY_AUDIT_WITNESSES) and fail when one has seen another history or a "
            "larger log: a fork, or a restore from an older backup.",
        ),
    ] = False,
) -> None:
    """Recompute every leaf and checkpoint in the database; exit 1 on any fault."""
    settings = Settings()
    signer = _audit_signer(settings)
    held = [path.read_text(encoding="utf-8") for path in checkpoint or ()]
    with _session(settings) as session, Progress("entries") as progress:
        leaves = counted(store.iter_leaves(session), progress, store.tree_size(session))
        report = verify_log(
            leaves,
            [*store.all_checkpoints(session), *held],
            signer.verifiers,
            settings.checkpoint_origin,
        )
    typer.echo(f"{report.entries} entries, {report.checkpoints} checkpoints")
    if not report.ok:
        for fault in report.faults:
            typer.echo(f"FAULT: {fault}", err=True)
        if report.first_bad_index is not None:
            typer.echo(f"first bad index: {report.first_bad_index}", err=True)
        raise typer.Exit(1)
    typer.echo("OK: every entry, signature and checkpoint verifies")
    if witnesses:
        _ask_witnesses(settings, signer)


def _ask_witnesses(settings: Settings, signer: Signer) -> None:
    if not settings.witnesses.configured:
        typer.echo("no witnesses configured (GATEWAY_AUDIT_WITNESSES)", err=True)
        raise typer.Exit(1)
    with _session(settings) as session:
        auditing.checkpoint(session, signer)
        submit_latest(session, settings.witnesses)
        standing = witnessing_standing(session, settings.witnesses)
    for status in standing.statuses:
        typer.echo(
            f"witness {status.name}: {status.outcome or 'not asked'} at size {status.tree_size}"
            + (f" ({status.detail})" if status.detail else "")
        )
    if standing.alarms:
        typer.echo(
            "FAULT: a witness has seen another history of this log or a larger one; see "
            "README, 'Restoring a backup'",
            err=True,
        )
        raise typer.Exit(1)
    if standing.waiting:
        typer.echo(
            f"FAULT: the checkpoint of size {standing.signed_size} has fewer than "
            f"{standing.quorum} cosignatures",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"OK: the checkpoint of size {standing.signed_size} reached the quorum")


def _exchanges(settings: Settings) -> Exchanges:
    return Exchanges(
        make_decider(settings),
        load_keys(settings).payload_master_keys,
        PayloadSchemas.load(default_schema_dir()),
    )


@maintenance_app.command("run")
def maintenance_run() -> None:
    """Expire consents and exchanges that are due, shred their payloads, raise at-home alerts,
    store the statistics of ended school years, erase signals and exemptions past retention,
    tell officers of break-glass reviews that fell overdue, sign a checkpoint of the audit log
    and send it to the witnesses, once (idempotent; serve also runs this every
    GATEWAY_MAINTENANCE_INTERVAL seconds)."""
    settings = Settings()
    signals = Signals(_exchanges(settings))
    with _session(settings) as session:
        now = datetime.now(UTC)
        if not leases.acquire(session, MAINTENANCE_LEASE, now, RUN_LEASE):
            holder = leases.holder_of(session, MAINTENANCE_LEASE, now)
            typer.echo(f"maintenance is running elsewhere ({holder}); nothing done", err=True)
            raise typer.Exit(1)
        try:
            report = maintain(session, signals, _audit_signer(settings), settings.witnesses)
        finally:
            leases.release(session, MAINTENANCE_LEASE, datetime.now(UTC))
    typer.echo(
        f"consents expired: {report.consents_expired}, exchanges expired: "
        f"{report.exchanges_expired}, payloads shredded: {report.payloads_shredded}, "
        f"at-home alerts raised: {report.alerts_raised}, school years closed: "
        f"{report.school_years_closed}, signals and exemptions erased: {report.records_erased}, "
        f"portal logins ended: {report.logins_ended}, break-glass reviews newly overdue: "
        f"{report.reviews_overdue}, witnesses asked: {report.witnesses_asked}"
    )


@webhooks_app.command("deliver")
def webhooks_deliver() -> None:
    """Send every webhook message that is due now, once (serve does this every
    GATEWAY_OUTBOX_INTERVAL seconds)."""
    settings = Settings()
    tracing.begin()
    engine = make_engine(settings.effective_database_url)
    try:
        deliverer = Deliverer(
            make_sessionmaker(engine),
            load_keys(settings).payload_master_keys,
            allow_internal=settings.is_dev,
        )
        typer.echo(f"messages attempted: {deliverer.run_once()}")
    finally:
        engine.dispose()


@notices_app.command("send")
def notices_send() -> None:
    """Send every e-mail notice that is due now, once (serve does this every
    GATEWAY_OUTBOX_INTERVAL seconds when GATEWAY_SMTP_URL is set)."""
    settings = Settings()
    if settings.smtp_url is None:
        typer.echo("GATEWAY_SMTP_URL is not set: there is no server to send to", err=True)
        raise typer.Exit(1)
    engine = make_engine(settings.effective_database_url)
    try:
        mailer = Mailer(
            make_sessionmaker(engine),
            load_keys(settings).payload_master_keys,
            SmtpServer(settings.smtp_url.get_secret_value()),
            settings.mail_from,
            f"{settings.public_url}/portaal",
        )
        typer.echo(f"notices attempted: {mailer.run_once()}")
    finally:
        engine.dispose()


@keys_app.command("generate")
def keys_generate(
    names: Annotated[
        list[str] | None,
        typer.Argument(help=f"Settings to generate (default: all): {', '.join(SECRET_SETTINGS)}."),
    ] = None,
) -> None:
    """Print fresh secrets as GATEWAY_* lines for an env file: for a new deployment, or the new
    key of a rotation (see the README's key rotation section). Nothing is stored."""
    unknown = sorted(set(names or ()) - set(SECRET_SETTINGS))
    if unknown:
        typer.echo(f"error: not a secret setting: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    for variable, value in generate_secrets(names or None).items():
        typer.echo(f'{variable}="{value.strip()}"')


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every payload's data key under the current payload master key (rotation of the
    payload master key).

    In dev a new master key is generated first (into the dev key file). In production, put the
    new key first in GATEWAY_PAYLOAD_MASTER_KEYS (keep the old ones after it), run this, then
    drop the old keys.
    """
    settings = Settings()
    if settings.is_dev and not settings.payload_master_keys:
        typer.echo(f"new master key {add_dev_master_key(settings)}")
    exchanges = _exchanges(settings)
    with _session(settings) as session:
        moved = key_rotation.rewrap_keys(exchanges.keyring, session)
    typer.echo(f"re-wrapped {moved} data keys under master key {exchanges.keyring.current_id}")
