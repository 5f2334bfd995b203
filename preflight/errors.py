"""The few exceptions preflight raises. Each message says what went wrong and what to do.

Each carries the exit code the command line ends with: 1 the sources were refused (NO-GO),
2 bad usage or unreadable input, 3 the Mosaic API failed or the avatar did, 4 the work did not
finish in its time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preflight.report import Report


class PreflightError(Exception):
    """Base of every error preflight raises on purpose."""

    exit_code = 2


class UsageError(PreflightError):
    """The command or call was malformed: wrong arguments, a bad policy file, a missing API key."""


class InputError(PreflightError):
    """A source cannot be read as media at all (missing, empty, not media, too large, a URL that
    does not give a media file)."""


class ToolMissing(PreflightError):
    """An external program preflight needs (ffmpeg, ffprobe) is not installed."""


class TimedOut(PreflightError):
    """The work ran past its time limit and was stopped: the media may be fine, or built to stall
    the decoder (thousands of edit-list entries); nothing was judged."""

    exit_code = 4


class RejectedSources(PreflightError):
    """The sources did not pass the checks, so nothing was sent. ``report`` says why (None when
    ``create --fix`` found no window of the recording to check at all; the message says why)."""

    exit_code = 1

    def __init__(self, message: str, report: Report | None) -> None:
        super().__init__(message)
        self.report = report


class MosaicError(PreflightError):
    """The Mosaic API refused a request, failed, or could not be reached.

    ``status_code`` is the HTTP status when there was a response, else None.
    """

    exit_code = 3

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AvatarFailed(MosaicError):
    """Mosaic accepted the sources but the avatar ended ``failed``; the message is its status_message."""


class ClusterError(PreflightError):
    """A Dask cluster cannot be used for a batch: ``distributed`` is not installed, the scheduler
    cannot be reached, no worker joins, or the workers would judge differently from this client."""


class ClusterLost(PreflightError):
    """The cluster's scheduler went away mid-batch. What finished is kept (and cached): run the
    batch again to go on from there."""

    exit_code = 4
