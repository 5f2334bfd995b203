"""avatar-preflight: check source media for a Mosaic AI avatar before it is submitted.

    >>> import preflight
    >>> report = preflight.check("clip.mp4")
    >>> report.verdict, [c.id for c in report.checks if c.status != "pass"]
    >>> preflight.fix("interview.mp4", output="ada.mp4").window   # the best 4-15 s, cut and checked GO
    >>> avatar = preflight.create_avatar("Ada", video="clip.mp4", wait=True)  # MOSAIC_API_KEY set
"""

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

# The submission side (httpx, sqlite3) loads on first use, not for every `preflight check`.
_LAZY = {"Avatar": "preflight.mosaic", "MosaicClient": "preflight.mosaic",
         "create_avatar": "preflight.submit", "plan_avatar": "preflight.submit"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'preflight' has no attribute {name!r}")

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
