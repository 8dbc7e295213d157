"""Where a webhook may be sent: only to addresses on the public internet (outside dev), judged on
what the host name resolves to, the way the sender resolves it.

``ipaddress.ip_address()`` parses only the dotted-quad and IPv6 forms, but the resolver the
sender uses (``getaddrinfo``) also takes ``127.1``, ``0x7f000001``, ``2130706433``,
``0177.0.0.1`` and ``0``: a check on the URL's text lets those through to loopback. So the host
is resolved, at registration and again when a message is sent, and every address it resolves to
must be global. At delivery the check sits in the connection itself (:class:`GuardedBackend`, an
httpcore network backend): the addresses checked are the ones connected to, so a name that
resolves to a public address at the check and to an internal one a moment later (DNS
rebinding) gets nothing. httpx has no public hook for that, so delivery talks to httpcore, on
which httpx is built, directly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore

LOOPBACK_NAMES = {"localhost"}
INTERNAL_SUFFIXES = (".local", ".internal", ".localhost", ".home.arpa")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class InternalAddressError(ValueError):
    """The host is, or resolves to, an address on the gateway's own networks."""


def internal_name(host: str) -> bool:
    """A name that by convention never leaves the local network (a trailing dot changes nothing)."""
    name = host.rstrip(".").lower()
    return name in LOOPBACK_NAMES or name.endswith(INTERNAL_SUFFIXES)


def resolve(host: str, port: int) -> list[Address]:
    """The addresses ``host`` resolves to, as the sender's resolver sees them; raises OSError
    when it resolves to none."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def check_public(host: str, port: int) -> list[Address]:
    """The addresses of ``host``, all of them global; raises InternalAddressError when one is
    not, OSError when there are none."""
    if internal_name(host):
        raise InternalAddressError(f"{host} is a local name")
    addresses = resolve(host, port)
    internal = [str(a) for a in addresses if not a.is_global]
    if internal or not addresses:
        raise InternalAddressError(f"{host} resolves to {', '.join(internal) or 'nothing'}")
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """TCP connections only to the global addresses a host resolves to (unless internal
    addresses are allowed, in dev)."""

    def __init__(self, *, allow_internal: bool) -> None:
        self._allow_internal = allow_internal
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port) if self._allow_internal else check_public(host, port)
        except (OSError, InternalAddressError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._backend.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
