"""``preflight serve``: a page where a team drops a clip and sees the verdict, and a JSON API over
HTTP for pipelines, running the same checks in the worker pool that ``batch`` uses.

- ``app``: the routes (the page, ``/v1/checks``, ``/v1/avatars``), the token, the errors.
- ``uploads``: a multipart body streamed to the server's files, held to Mosaic's limits.
- ``work``: the check records, the bounded queue and the thread that feeds the pool.

Needs the ``serve`` extra (FastAPI, uvicorn, python-multipart).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import shutil
import socket
import string
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from preflight.errors import UsageError
from preflight.ledger import default_path
from preflight.policy import Policy

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
TOKEN_ENV = "PREFLIGHT_SERVE_TOKEN"
TOKEN_MIN_BITS = 128  # 16 random bytes: `openssl rand -hex 16` (32 hex digits) or 22 base64 characters
# The alphabets a token's characters are drawn from, smallest first: a token is credited
# log2(size) bits a character of the smallest one that holds all of its characters.
_ALPHABETS = (string.digits, "0123456789abcdef", "0123456789ABCDEF", string.ascii_uppercase + "234567=",
              string.ascii_lowercase + string.digits, string.ascii_letters + string.digits,
              string.ascii_letters + string.digits + "+/=-_", string.printable.strip())


def is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_bits(token: str) -> float:
    """An upper estimate of a token's entropy in bits: its length times the bits of a character of
    the smallest common alphabet (digits, hex, base32, base36, base62, base64, printable) that
    holds it; nothing for a token that repeats a shorter one or has fewer than 8 distinct characters."""
    if not token or len(set(token)) < 8 or token in (token + token)[1:-1]:
        return 0.0
    size = next((len(a) for a in _ALPHABETS if set(token) <= set(a)), 256)
    return len(token) * math.log2(size)


@dataclasses.dataclass(frozen=True)
class Hosts:
    """The names a request's Host header may carry, so that a web page cannot reach the server
    through a name of its own (DNS rebinding): lower case, without the port."""

    names: frozenset[str]
    given: frozenset[str] = frozenset()  # by --allow-host: a proxy's public names, whose pages may post too
    any_ip: bool = False  # served on all addresses: the machine by any of its IP addresses
    any_name: bool = False  # --allow-host '*': the check is off

    def allow(self, header: str) -> bool:
        name = hostname(header)
        if self.any_name or name in self.names:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False  # a name: only the listed ones
        return self.any_ip


def hostname(host: str) -> str:
    """The name in a Host header or an --allow-host (``name``, ``name:port``, ``[v6]:port``), lower case."""
    name = host.strip().rsplit(":", 1)[0] if host.count(":") == 1 else host.strip()  # an IPv6 literal has several
    name = name.rsplit("]", 1)[0].lstrip("[") if name.startswith("[") else name
    return name.lower().rstrip(".")


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> Hosts:
    """The address served on; localhost and the loopback addresses on a loopback address; on all
    addresses (0.0.0.0, ::) the machine's names and any of its IP addresses (an IP address cannot
    be rebound); and ``extra`` (``--allow-host``; ``*`` allows any)."""
    extra = {hostname(h) for h in extra if h.strip()}
    names = {hostname(host), *extra}
    wildcard = host in ("0.0.0.0", "::", "")
    if is_local(host) or wildcard:
        names |= LOCAL_HOSTS
    if wildcard:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return Hosts(frozenset(names - {"*"}), frozenset(extra - {"*"}), any_ip=wildcard, any_name="*" in extra)


def serve(host: str, port: int, *, jobs: int, queue_size: int, time_limit: float, policy: Policy,
          allow_hosts: Iterable[str] = ()) -> None:
    """Run the server until it is interrupted. Off localhost it needs PREFLIGHT_SERVE_TOKEN, of
    at least TOKEN_MIN_BITS; every request's Host must be one it serves as (:func:`allowed_hosts`)."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    if not is_local(host) and token is None:
        raise UsageError(f"serving on {host} lets anyone on the network in: set {TOKEN_ENV} to a secret "
                         "(every request then needs it), or serve on 127.0.0.1")
    if not is_local(host) and token is not None and (bits := token_bits(token)) < TOKEN_MIN_BITS:
        raise UsageError(f"{TOKEN_ENV} is too easy to guess for serving on {host} (at most {bits:.0f} bits of "
                         f"{TOKEN_MIN_BITS}): make one with `openssl rand -hex 16`")
    import uvicorn

    from preflight.serve.app import create_app
    from preflight.serve.work import Checks

    data_dir = default_path().parent / "serve"
    upload_dir = Path(tempfile.mkdtemp(prefix="preflight-serve-"))  # mode 0700: this user's alone
    checks = Checks(jobs=jobs, policy=policy, time_limit=time_limit, queue_size=queue_size, data_dir=data_dir,
                    upload_dir=upload_dir, keep_go=bool(os.environ.get("MOSAIC_API_KEY", "").strip()))
    shown = f"[{host}]" if ":" in host else host
    print(f"preflight serve: http://{shown}:{port}/  ({jobs} worker{'s' if jobs != 1 else ''}, queue {queue_size}"
          f"{', token required' if token else ''}; reports in {data_dir})", file=sys.stderr, flush=True)
    try:
        uvicorn.run(create_app(checks, token, allowed_hosts(host, allow_hosts)), host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=5)  # a long-poll must not hold a Ctrl-C for a minute
    except SystemExit:  # uvicorn's way of saying it could not bind (it logged why)
        raise UsageError(f"cannot serve on {host}:{port}; is the port in use? (--port)") from None
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
