"""The few exceptions preflight raises. Each message says what went wrong and what to do."""


class PreflightError(Exception):
    """Base of every error preflight raises on purpose."""

    exit_code = 2


class UsageError(PreflightError):
    """The command or call was malformed: wrong arguments, a bad policy file."""


class InputError(PreflightError):
    """A source cannot be read as media at all (missing, empty, not media, too large)."""


class ToolMissing(PreflightError):
    """An external program preflight needs (ffmpeg, ffprobe) is not installed."""
