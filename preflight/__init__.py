"""avatar-preflight: check source media for a Mosaic AI avatar before it is submitted.

    >>> import preflight
    >>> report = preflight.check("clip.mp4")
    >>> report.verdict, [c.id for c in report.checks if c.status != "pass"]
    >>> preflight.fix("interview.mp4", output="ada.mp4").window   # the best 4-15 s, cut and checked GO
    >>> avatar = preflight.create_avatar("Ada", video="clip.mp4", wait=True)  # MOSAIC_API_KEY set
"""

import os as _os
import signal as _signal
import sys as _sys
from typing import TYPE_CHECKING


def _interrupted_while_loading(*_: object) -> None:
    _os.write(2, b"interrupted\n")
    _os._exit(130)


# The `preflight` console script loads this package first, and with it numpy, onnxruntime and
# mediapipe (a second of CPU, more on a busy machine): a Ctrl-C meanwhile ends the run with 130
# and one line, not a traceback. The command line takes SIGINT over once loaded (cli.main). A
# SIGINT ignored by whoever started the process stays ignored; a library import changes nothing.
# The console script also sets the process's allocator, numpy's BLAS threads and its pages up
# before any analysis thread starts (and before numpy loads).
_console = _os.path.basename(getattr(_sys.modules.get("__main__"), "__file__", None) or "") == "preflight"
if _console and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_while_loading)
if _console:
    from preflight.process import limit_malloc_arenas, single_threaded_blas, small_pages_for_arrays

    single_threaded_blas()
    small_pages_for_arrays()
    limit_malloc_arenas()

from preflight.pipeline import check  # noqa: E402 - after the handler above
from preflight.fix import FixResult, fix
from preflight.errors import (
    AvatarFailed,
    InputError,
    MosaicError,
    PreflightError,
    RejectedSources,
    TimedOut,
    ToolMissing,
    UsageError,
)
from preflight.policy import Policy, load_policy
from preflight.report import Check, Report, Status
from preflight.sources import Sources
from preflight.version import __version__

if TYPE_CHECKING:  # what a type checker sees; at run time they load on first use (below)
    from preflight.mosaic import Avatar, MosaicClient
    from preflight.submit import create_avatar, plan_avatar

# The submission side (httpx, sqlite3) loads on first use, not for every `preflight check`.
_LAZY = {"Avatar": "preflight.mosaic", "MosaicClient": "preflight.mosaic",
         "create_avatar": "preflight.submit", "plan_avatar": "preflight.submit"}


if not TYPE_CHECKING:  # hidden from type checkers, which would type every unknown name as object

    def __getattr__(name: str) -> object:
        if name in _LAZY:
            import importlib

            value = getattr(importlib.import_module(_LAZY[name]), name)
            globals()[name] = value  # found once
            return value
        raise AttributeError(f"module 'preflight' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Avatar",
    "AvatarFailed",
    "Check",
    "InputError",
    "MosaicClient",
    "MosaicError",
    "Policy",
    "PreflightError",
    "RejectedSources",
    "Report",
    "Sources",
    "Status",
    "TimedOut",
    "ToolMissing",
    "UsageError",
    "__version__",
    "FixResult",
    "check",
    "create_avatar",
    "fix",
    "load_policy",
    "plan_avatar",
]
