"""avatar-preflight: check source media for a Mosaic AI avatar before it is submitted.

    >>> import preflight
    >>> report = preflight.check("clip.mp4")
    >>> report.verdict, [c.id for c in report.checks if c.status != "pass"]
"""

from preflight.check import check
from preflight.errors import InputError, PreflightError, ToolMissing, UsageError
from preflight.policy import Policy, load_policy
from preflight.report import Check, Report, Status
from preflight.version import __version__

__all__ = [
    "Check",
    "InputError",
    "Policy",
    "PreflightError",
    "Report",
    "Status",
    "ToolMissing",
    "UsageError",
    "__version__",
    "check",
    "load_policy",
]
