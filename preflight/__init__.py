"""avatar-preflight: check source media for a Mosaic AI avatar before it is submitted.

    >>> import preflight
    >>> report = preflight.check("clip.mp4")
    >>> report.verdict, [c.id for c in report.checks if c.status != "pass"]
    >>> preflight.fix("interview.mp4", output="ada.mp4").window   # the best 4-15 s, cut and checked GO
    >>> avatar = preflight.create_avatar("Ada", video="clip.mp4", wait=True)  # MOSAIC_API_KEY set
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from preflight.fix import FixResult, fix
    from preflight.mosaic import Avatar, MosaicClient
    from preflight.pipeline import check
    from preflight.policy import Policy, load_policy
    from preflight.report import Check, Report, Status
    from preflight.sources import Sources
    from preflight.submit import create_avatar, plan_avatar
    from preflight.version import __version__

# Each name loads its module on first use: `import preflight` (and the command line, whose first
# moments must already answer Ctrl-C) costs nothing until a check is asked for.
_LAZY = {
    **dict.fromkeys(["AvatarFailed", "InputError", "MosaicError", "PreflightError", "RejectedSources", "TimedOut",
                     "ToolMissing", "UsageError"], "preflight.errors"),
    "FixResult": "preflight.fix", "fix": "preflight.fix",
    "Avatar": "preflight.mosaic", "MosaicClient": "preflight.mosaic",
    "check": "preflight.pipeline",
    "Policy": "preflight.policy", "load_policy": "preflight.policy",
    "Check": "preflight.report", "Report": "preflight.report", "Status": "preflight.report",
    "Sources": "preflight.sources",
    "create_avatar": "preflight.submit", "plan_avatar": "preflight.submit",
    "__version__": "preflight.version",
}


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
