"""What a source is and what it is called: its role in an avatar, and the one name it goes by.

A leaf: it imports nothing of preflight, so the report, the media layer and the analyzers all
name sources with the same two types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class Role(str, enum.Enum):
    """The part a source plays in an avatar: the talking video, the still image, the voice."""

    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"


@dataclass(frozen=True)
class Source:
    """One source, named once: ``path`` is the file that is read (a download's temporary copy, a
    worker's copy, a fix's partial cut), ``label`` what every check, picture and report calls it
    (the URL, the client's file name, the cut's final path; the path itself by default)."""

    path: Path
    role: Role
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", str(self.path))
