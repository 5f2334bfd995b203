"""Finding source sets: in a folder (by file stem, each file's role from its streams) or in a
manifest CSV (``name,video,image,audio``; paths relative to the manifest, or URLs).

In a folder, a file that does not read as media is skipped only when its name does not say it
is media (notes, a report): a ``.mp4`` cut short by a failed download, or empty, makes its set
one that cannot be checked, an error with the reason, never a skip."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from preflight.download import is_url
from preflight.errors import InputError, UsageError
from preflight.media import Role, probe
from preflight.sources import Sources


@dataclass(frozen=True)
class SourceSet:
    """One avatar's worth of sources, as found; ``problem`` says why it cannot be a set."""

    name: str
    video: str | None = None
    image: str | None = None
    audio: str | None = None
    problem: str | None = None
    unreadable: tuple[str, ...] = ()  # its files named as media that do not read as media
    error: str | None = None  # why those cannot be checked, file by file
    labels: tuple[tuple[Role, str], ...] = ()  # what its report calls a source (by role) other than its path or URL
    title: str | None = None  # its report's name, when not ``name``

    @property
    def shown(self) -> dict[Role, str]:
        """What its report calls each source: its label, else the path or URL given."""
        return {role: dict(self.labels).get(role, given) for role, given in self.given.items()}

    @property
    def sources(self) -> Sources:
        return Sources(video=self.video, image=self.image, audio=self.audio)

    @property
    def files(self) -> list[str]:
        """Its local files (not URLs), readable or not."""
        return [p for p in (self.video, self.image, self.audio, *self.unreadable) if p and not is_url(p)]

    @property
    def given(self) -> dict[Role, str]:
        """The sources by role (a Role is a str: ``given["video"]`` works too)."""
        found = ((Role.VIDEO, self.video), (Role.IMAGE, self.image), (Role.AUDIO, self.audio))
        return {role: path for role, path in found if path}


# Names that say a file is media: one of these that does not read as media is an error, not a skip.
MEDIA_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".3gp", ".ogv", ".mxf",
    ".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aif", ".aiff", ".caf", ".amr",
    ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif",
})


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def discover(target: Path) -> tuple[list[SourceSet], list[Skipped]]:
    """The source sets in a folder (searched recursively) or a manifest CSV."""
    if target.is_dir():
        return _in_folder(target)
    if target.is_file() and target.suffix.lower() == ".csv":
        return _in_manifest(target), []
    raise UsageError(f"{target}: give a folder of media or a manifest .csv (name,video,image,audio)")


def _in_folder(folder: Path) -> tuple[list[SourceSet], list[Skipped]]:
    groups: dict[tuple[Path, str], dict[Role, list[Path]]] = {}
    broken: dict[tuple[Path, str], list[tuple[Path, str]]] = {}  # named as media, not readable as media
    skipped = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        kind, why = _kind(path)
        if kind is None and path.suffix.lower() in MEDIA_SUFFIXES:
            broken.setdefault((path.parent, path.stem), []).append((path, why))
        elif kind is None:
            skipped.append(Skipped(str(path), f"not readable media ({why})"))
        else:
            groups.setdefault((path.parent, path.stem), {}).setdefault(kind, []).append(path)
    sets = []
    for key in sorted(groups.keys() | broken.keys()):
        parent, stem = key
        kinds = groups.get(key, {})
        name = str((parent / stem).relative_to(folder))
        videos, images, audios = (kinds.get(role, []) for role in Role)
        if key in broken:
            bad = broken[key]
            first = [str(found[0]) if found else None for found in (videos, images, audios)]
            sets.append(SourceSet(name, *first, unreadable=tuple(str(p) for p, _ in bad),
                                  error="; ".join(f"{p.name} cannot be read: {why}" for p, why in bad)))
        elif len(videos) > 1 or len(images) > 1 or len(audios) > 1:
            files = ", ".join(p.name for group in kinds.values() for p in group)
            sets.append(SourceSet(name, problem=f"the files {files} share a name, so which go together is unclear; "
                                                "rename them so each set has its own name"))
        elif videos:
            if images:  # a video is a set of its own; the image beside it is a second one
                sets.append(SourceSet(f"{name} (image)", image=str(images[0]),
                                      problem="an image needs a voice audio of the same name"))
            sets.append(SourceSet(name, video=str(videos[0]), audio=str(audios[0]) if audios else None))
        elif images and audios:
            sets.append(SourceSet(name, image=str(images[0]), audio=str(audios[0])))
        elif images:
            sets.append(SourceSet(name, image=str(images[0]),
                                  problem=f"an image needs a voice audio of the same name ({stem}.wav, .mp3, ...)"))
        else:
            sets.append(SourceSet(name, audio=str(audios[0]),
                                  problem=f"a voice audio needs an image ({stem}.jpg, .png, ...) or a video of the same name"))
    return sets, skipped


def _kind(path: Path) -> tuple[Role | None, str]:
    """The file's role from its streams, as ``check`` infers it (never from its name: an MP4 named
    .wav is a video, an AVIF photo an image), or None and why it is skipped."""
    try:
        return probe(path).role, ""
    except InputError as exc:
        return None, str(exc).removeprefix(f"{path}: ")


def _in_manifest(manifest: Path) -> list[SourceSet]:
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{manifest}: cannot read the manifest ({exc})") from None
    if rows and not {role.value for role in Role} & set(rows[0]):
        raise UsageError(f"{manifest}: the header must name columns video, image and/or audio (and name)")
    sets = []
    for number, row in enumerate(rows, start=2):
        given = {role: _resolve(manifest.parent, (row.get(role.value) or "").strip()) for role in Role}
        name = (row.get("name") or "").strip() or Path(next((v for v in given.values() if v), f"row {number}")).stem
        problem = None
        if not given[Role.VIDEO] and not (given[Role.IMAGE] and given[Role.AUDIO]):
            problem = f"row {number} needs a video, or an image and an audio"
        sets.append(SourceSet(name, given[Role.VIDEO], given[Role.IMAGE], given[Role.AUDIO], problem))
    return sets


def _resolve(base: Path, value: str) -> str | None:
    if not value:
        return None
    return value if is_url(value) else str(base / value)
