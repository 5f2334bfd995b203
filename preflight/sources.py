"""What the user named: files, with a role given (--video/--image/--audio) or inferred from
their streams, gathered into one source set."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from preflight.errors import UsageError
from preflight.media import Probe, Role, probe

PathArg = str | PathLike[str]


def source_set(
    files: Sequence[PathArg] = (),
    *,
    video: PathArg | None = None,
    image: PathArg | None = None,
    audio: PathArg | None = None,
) -> list[Probe]:
    """Probe every source and settle its role. One source of each role at most.

    A named role must fit the file, except that any file with sound can serve as the voice
    audio (its picture is then ignored).
    """
    for given in (*files, video, image, audio):
        if given is not None and str(given).lower().startswith(("http://", "https://", "http:/", "https:/")):
            raise UsageError(f"{given}: URL sources are not supported by this version yet; download the file and check it")
    named = [(Path(p), role) for p, role in ((video, Role.VIDEO), (image, Role.IMAGE), (audio, Role.AUDIO)) if p]
    chosen: list[Probe] = []
    for path, role in named:
        found = probe(path)
        if role is Role.AUDIO and found.audio is not None:
            found = dataclasses.replace(found, role=Role.AUDIO)
        elif found.role is not role:
            raise UsageError(f"{path}: given as the {role.value}, but it is {_a(found.role)}")
        chosen.append(found)
    chosen += [probe(Path(p)) for p in files]
    if not chosen:
        raise UsageError("no source given: name a video, an image and an audio, or an image or audio alone")
    roles = [p.role for p in chosen]
    for role in Role:
        if roles.count(role) > 1:
            paths = ", ".join(str(p.path) for p in chosen if p.role is role)
            raise UsageError(
                f"{roles.count(role)} {role.value} sources ({paths}); a source set has one of each role. "
                "Check them one at a time, or use `preflight batch` for many"
            )
    return chosen


def _a(role: Role) -> str:
    return "an image" if role is Role.IMAGE else f"{'an' if role is Role.AUDIO else 'a'} {role.value} file"
