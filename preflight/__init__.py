"""avatar-preflight: check source media for a Mosaic AI avatar before it is submitted.

    >>> import preflight
    >>> report = preflight.check("clip.mp4")
    >>> report.verdict, [c.id for c in report.checks if c.status != "pass"]
    >>> preflight.fix("interview.mp4", output="ada.mp4").window   # the best 4-15 s, cut and checked GO
    >>> avatar = preflight.create_avatar("Ada", video="clip.mp4", wait=True)  # MOSAIC_API_KEY set
"""

from typing import TYPE_CHECKING

from preflight.pipeline import check
from preflight.fix import FixResult, fix
from preflight.errors import (
    AvatarFailed,
    InputError,
    MosaicError,
    PreflightError,
    RejectedSources,
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
