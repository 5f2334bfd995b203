"""``preflight serve``: a page where a team drops a clip and sees the verdict, and a JSON API over
HTTP for pipelines, running the same checks in the worker pool that ``batch`` uses.

- ``app``: the routes (the page, ``/v1/checks``, ``/v1/avatars``), the token, the errors.
- ``uploads``: a multipart body streamed to the server's files, held to Mosaic's limits.
- ``work``: the check records, the bounded queue and the thread that feeds the pool.

Needs the ``serve`` extra (FastAPI, uvicorn, python-multipart).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import tempfile
from pathlib import Path

from preflight.errors import UsageError
from preflight.ledger import default_path
from preflight.policy import Policy

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
TOKEN_ENV = "PREFLIGHT_SERVE_TOKEN"


def is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, *, jobs: int, queue_size: int, time_limit: float, policy: Policy) -> None:
    """Run the server until it is interrupted. Off localhost it needs PREFLIGHT_SERVE_TOKEN."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    if not is_local(host) and token is None:
        raise UsageError(f"serving on {host} lets anyone on the network in: set {TOKEN_ENV} to a secret "
                         "(every request then needs it), or serve on 127.0.0.1")
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
        uvicorn.run(create_app(checks, token), host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=5)  # a long-poll must not hold a Ctrl-C for a minute
    except SystemExit:  # uvicorn's way of saying it could not bind (it logged why)
        raise UsageError(f"cannot serve on {host}:{port}; is the port in use? (--port)") from None
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
