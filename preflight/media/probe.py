"""What a file holds, from ffprobe (through ffmpeg-python): its role, streams and duration."""

from __future__ import annotations

import errno
import shutil
import stat
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import ffmpeg

from preflight.errors import InputError, ToolMissing
from preflight.roles import Role, Source

# ffprobe names still images by their demuxer: "image2" for a named file, "<codec>_pipe" otherwise.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe"}
# ISO-BMFF brands of still-image files (AVIF, HEIF/HEIC).
_STILL_BRANDS = {"avif", "heic", "heix", "mif1", "msf1"}

# An image this large costs gigabytes to decode and is no portrait photo; Mosaic's own image cap
# is 50 MB. 8192 px covers every camera sensor sold today.
MAX_IMAGE_SIDE = 8192

# What shows a still as its EXIF orientation (1-8) says, in ffmpeg's filters: phone cameras store
# the sensor's picture and tag how to turn it (6: a quarter turn clockwise, a portrait held upright),
# and every viewer, browser and photo editor turns it. Which stills ffmpeg's own autorotation turns
# depends on its version (5.1 turns JPEGs by their EXIF tag, not PNGs or WebPs), so a still is
# decoded with it off and turned by these.
_UPRIGHT = {2: ("hflip",), 3: ("hflip", "vflip"), 4: ("vflip",), 5: ("transpose=0",), 6: ("transpose=1",),
            7: ("transpose=3",), 8: ("transpose=2",)}


@dataclass(frozen=True)
class VideoStream:
    index: int  # the stream's number in the file
    codec: str
    width: int  # as displayed, after the rotation a phone records
    height: int
    fps: float  # average frame rate
    duration: float | None  # seconds
    start: float = 0.0  # seconds: when the stream starts on the file's timeline
    orientation: int = 1  # a still's EXIF orientation (1: as stored); width and height are after it

    @property
    def upright(self) -> tuple[str, ...]:
        """The ffmpeg filters that turn the stored picture as its orientation says (none for 1)."""
        return _UPRIGHT.get(self.orientation, ())


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: float | None
    start: float = 0.0


@dataclass(frozen=True)
class Probe:
    path: Path
    role: Role
    format_name: str
    size_bytes: int
    duration: float | None  # the container's, seconds
    video: VideoStream | None
    audio: AudioStream | None  # the track used: the default one, else the first
    other_audio: tuple[AudioStream, ...] = ()  # the file's other audio tracks
    label: str = ""  # what the reports call it (preflight.sources settles it); "": its path

    @property
    def source(self) -> Source:
        """The source as every check, picture and report names it."""
        return Source(self.path, self.role, self.label)

    @property
    def media_duration(self) -> float | None:
        """Duration of the stream that matters for the role, else the container's."""
        stream = self.audio if self.role is Role.AUDIO else self.video
        if stream is not None and stream.duration:
            return stream.duration
        return self.duration


def tool_path(path: Path) -> str:
    """``path`` as ffmpeg and ffprobe must be given it: absolute, so a name like ``-dash.mp4`` is
    not read as an option, and with ``file:`` so ``a:b.mp4`` is not read as a protocol."""
    return f"file:{path.absolute()}"


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"{name} is not installed or not on PATH; install FFmpeg (e.g. `apt-get install ffmpeg`) and try again"
        )
    return path


# The ISO base media boxes an MP4/MOV can open with; a file that opens with one and has no
# 'moov' was cut short, while any other bytes (a text file named .mp4) are simply not media.
_MP4_BOXES = {b"ftyp", b"free", b"skip", b"wide", b"mdat", b"moov", b"pnot"}


def _starts_with_mp4_box(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(8)[4:8] in _MP4_BOXES


# HEIF's brands for HEVC-coded pictures (an iPhone's photos: .heic): an MP4-like file with no
# 'moov', which FFmpeg 5.1 (Debian 12's) cannot read. (AVIF, the same container with AV1 inside, it reads.)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}


def _is_heif(path: Path) -> bool:
    """The file's 'ftyp' box names a HEVC-coded HEIF picture as its major or a compatible brand."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if head[4:8] != b"ftyp":
        return False
    size = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[i:i + 4] for i in range(16, size - 3, 4)} | {head[8:12]}
    return bool(brands & _HEIF_BRANDS) and b"avif" not in brands


def probe(path: Path, label: str = "") -> Probe:
    """Probe ``path`` and infer its role. Raises InputError when it is not readable media, naming
    the file by ``label`` (what the reports call it: a URL, a client's file name) or its path."""
    name = label or str(path)
    try:
        status = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{name}: a symbolic link that loops back on itself; point it at the media file") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(f"{name}: no such file") from None
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(f"{name}: is a folder; name a media file (or use `preflight batch` for folders)")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(f"{name}: not a regular file (a device, pipe or socket); save the media to a file first")
    if status.st_size == 0:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    ffprobe = require_tool("ffprobe")
    try:
        info = ffmpeg.probe(tool_path(path), cmd=ffprobe)
    except ffmpeg.Error as exc:
        text = (exc.stderr or b"").decode("utf-8", "replace")
        if _is_heif(path):
            raise InputError(f"{name}: a HEIC/HEIF photo, which this FFmpeg cannot read; save it as JPEG or PNG and "
                             "check that (an iPhone takes JPEGs with Settings > Camera > Formats > Most Compatible)") from None
        if "moov atom not found" in text and _starts_with_mp4_box(path):
            raise InputError(f"{name}: the file is incomplete: its index (the MP4 'moov' atom) is missing, "
                             "as when an upload or an export is cut short; export or download it again") from None
        reason = _last_line(exc.stderr).removeprefix(f"{tool_path(path)}: ").removeprefix(f"{path}: ") or "ffprobe could not read it"
        raise InputError(f"{name}: not a readable video, image or audio file ({reason})") from None

    fmt = info.get("format", {})
    streams = info.get("streams", [])
    video_info = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    tracks = [s for s in streams if s.get("codec_type") == "audio"]
    # The track a player (and Mosaic) takes: the one marked default, else the first.
    audio_info = next((s for s in tracks if s.get("disposition", {}).get("default")), tracks[0] if tracks else None)
    format_name = fmt.get("format_name", "")

    video = _video_stream(video_info) if video_info else None
    audio = _audio_stream(audio_info) if audio_info else None
    if video is not None and _is_still(format_name, fmt, video_info, audio):
        role = Role.IMAGE
    elif video is not None:
        role = Role.VIDEO
    elif audio is not None:
        role = Role.AUDIO
    else:
        raise InputError(f"{name}: holds no video, image or audio stream")

    if video is not None and (video.width <= 0 or video.height <= 0):
        # ffprobe reports 0x0 both for a damaged header and for sizes FFmpeg refuses to allocate.
        raise InputError(
            f"{name}: the picture's size cannot be read: the file is damaged or larger than FFmpeg decodes "
            f"(keep images under {MAX_IMAGE_SIDE} px a side)"
        )
    if role is Role.IMAGE:
        # as stored, then as shown: by its EXIF tag, or else by the turn ffprobe reads (a HEIF's)
        orientation = _exif_orientation(path) or _ROTATION_ORIENTATION.get(_rotation(video_info) % 360, 1)
        stored = int(video_info.get("width") or 0), int(video_info.get("height") or 0)
        width, height = stored[::-1] if orientation >= 5 else stored  # the four that swap the sides
        video = replace(video, orientation=orientation, width=width, height=height)
    if role is Role.IMAGE and max(video.width, video.height) > MAX_IMAGE_SIDE:
        raise InputError(
            f"{name}: the image is {video.width}x{video.height} px; the largest accepted is "
            f"{MAX_IMAGE_SIDE} px a side. Resize it (a portrait needs no more than about 2000 px)"
        )
    return Probe(
        path=path,
        role=role,
        format_name=format_name,
        size_bytes=status.st_size,
        duration=_float(fmt.get("duration")),
        video=video,
        audio=audio,
        other_audio=tuple(_audio_stream(t) for t in tracks if t is not audio_info),
        label=label,
    )


# ffprobe's rotation (degrees, counter-clockwise, of the display matrix) as the EXIF orientation that turns alike
_ROTATION_ORIENTATION = {270: 6, 90: 8, 180: 3}


def _exif_orientation(path: Path) -> int | None:
    """A still's EXIF orientation tag (JPEG, PNG, WebP, TIFF), from its header; None where it has
    none or it cannot be read."""
    from PIL import Image  # loaded for stills only

    try:
        with Image.open(path) as image:
            value = image.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - any reason Pillow cannot read the header leaves the tag unknown
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _is_still(format_name: str, fmt: dict, video: dict, audio: AudioStream | None) -> bool:
    """A picture, not a video: a still-image format, or one frame in a container (AVIF and HEIC
    photos are one frame in an MP4-like file; a GIF is a picture unless it moves)."""
    if format_name == "gif":
        return not ((_float(fmt.get("duration")) or 0.0) > 0.1)
    if format_name in _IMAGE_FORMATS:
        return True
    if audio is not None:
        return False
    brand = str(fmt.get("tags", {}).get("major_brand", "")).strip().lower()
    return video.get("nb_frames") == "1" or brand in _STILL_BRANDS


def _video_stream(s: dict) -> VideoStream:
    width, height = int(s.get("width") or 0), int(s.get("height") or 0)
    if _rotation(s) % 180 == 90:
        width, height = height, width
    return VideoStream(
        index=int(s["index"]),
        codec=s.get("codec_name", "?"),
        width=width,
        height=height,
        fps=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")) or 0.0,
        duration=_float(s.get("duration")),
        start=_float(s.get("start_time")) or 0.0,
    )


def _audio_stream(s: dict) -> AudioStream:
    return AudioStream(
        index=int(s["index"]),
        codec=s.get("codec_name", "?"),
        sample_rate=int(s.get("sample_rate") or 0),
        channels=int(s.get("channels") or 0),
        duration=_float(s.get("duration")),
        start=_float(s.get("start_time")) or 0.0,
    )


def _rotation(s: dict) -> int:
    for side in s.get("side_data_list", []):
        if "rotation" in side:
            return int(float(side["rotation"]))
    return int(float(s.get("tags", {}).get("rotate", 0)))


def _rate(text: str | None) -> float | None:
    if not text or "/" not in text:
        return _float(text)
    num, den = text.split("/", 1)
    try:
        return float(num) / float(den) if float(den) else None
    except ValueError:
        return None


def _float(text: object) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if value == value and value >= 0 else None


def _last_line(stderr: bytes | None) -> str:
    lines = (stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def keyframe_times(probe: Probe) -> list[float]:
    """Presentation times (s, from the video stream's start, as the decoded frames' times are) of
    its keyframes, from the packet index (nothing is decoded); empty when ffprobe cannot list them."""
    if probe.video is None:
        return []
    done = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", "-select_streams", str(probe.video.index), "-show_entries",
         "packet=pts_time,flags", "-of", "csv=p=0", tool_path(probe.path)],
        capture_output=True, text=True, timeout=120,
    )
    times = []
    for line in done.stdout.splitlines():
        pts, _, flags = line.partition(",")
        if "K" in flags and (t := _float(pts)) is not None:
            times.append(round(t - probe.video.start, 6))
    return sorted(times)


def packets_end(probe: Probe, timeout: float = 60.0) -> float | None:
    """Where the packets of the stream that matters for the role end (s): a length for a file
    whose header states none, read from the container's index without decoding (a 20-minute
    recording in half a second). None when ffprobe cannot tell in ``timeout`` seconds."""
    stream = probe.audio if probe.role is Role.AUDIO else probe.video
    if stream is None:
        return None
    try:
        done = subprocess.run(
            [require_tool("ffprobe"), "-v", "error", "-select_streams", str(stream.index), "-show_entries",
             "packet=pts_time,duration_time", "-of", "csv=p=0", tool_path(probe.path)],
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    end = None
    for line in done.stdout.splitlines():
        pts, _, length = line.partition(",")
        if (t := _float(pts)) is not None:
            end = max(end or 0.0, t + (_float(length) or 0.0) - stream.start)
    return end
