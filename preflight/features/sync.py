"""Whether the voice belongs to the visible face: Light-ASD's speaking score as a function of the
time offset between picture and sound (a sync curve).

Light-ASD (Liao et al., "A Light Weight Model for Active Speaker Detection", CVPR 2023; MIT;
``models/light_asd_{audio,visual,backend}.onnx``, see ``scripts/export_light_asd.py``) scores, for each video frame
at 25 fps, whether the face is the one speaking, from a 112x112 grey crop of the mouth region
and 13 MFCCs at 100 Hz (:mod:`preflight.features.mfcc`). Its two encoders run once (the
picture's over the 10 s with the most speech, 6.5 ms of CPU a frame here; the sound's over the clip); the audio
embedding is then shifted against the visual one over lags of -40..+40 frames (1.6 s each way)
and only the back end (two GRUs and a linear layer) runs again for each lag. When the voice is
the face's own, the score is highest at lag 0 and drops away from it; another person's voice
over the face gives a flat curve, and the same voice out of sync peaks at its offset.

Crops follow the authors': the face box's half-size s and centre, smoothed by a running median
over 13 frames; a square of 1.4 s from 0.3 s above the centre to 1.1 s below it (the mouth
region), padded with grey 110 outside the frame, resized to 112x112. The boxes are the faces
check's (BlazeFace, 5 a second on the sampled frames), interpolated to 25 fps; the crops come
from the decode's 25 fps grey frames (``Media.talk``). Only frames inside the VAD's speech count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from preflight.features import onnx
from preflight.features.faces import face_track
from preflight.features.mfcc import mfcc
from preflight.features.vad import speech_activity
from preflight.media import Media

FPS = 25
MAX_LAG = 40  # frames: 1.6 s each way
CROP = 112
_SMOOTH = 13  # frames, the authors' median filter
_PAD = 110
_EDGE = 8  # frames at each end of the encoders' output left out
WINDOW = 250  # frames of picture encoded: 10 s, the most speech-filled stretch (6.5 ms of CPU a frame)
_HALO = 6  # frames: the visual encoder's temporal reach (three blocks of 5-frame kernels), exactly
_CHUNK = 42  # frames the visual encoder runs on at once (and _HALO each side): its activations are ~2.5 MB a frame
_MIN_SCORED = 20  # speech frames a lag must compare to count


@dataclass(frozen=True)
class SyncCurve:
    """Mean speaking score (log-odds) over the speech frames, for each lag of the sound."""

    lags: np.ndarray  # frames; positive: picture frame t against the sound at t + lag (the sound comes late)
    scores: np.ndarray
    frames: int  # speech frames with a face that were scored
    times: np.ndarray  # seconds of those frames
    speaking: np.ndarray  # their scores at lag 0
    mouth_px: float = float("nan")  # the mouth crop's median side in the source's pixels (what it rests on)

    def at(self, lag: int) -> float:
        return float(self.scores[np.flatnonzero(self.lags == lag)[0]])

    def smoothed(self, width: int) -> "SyncCurve":
        """The curve's running mean over ``width`` lags (odd), its ends padded with their values."""
        padded = np.pad(self.scores, width // 2, mode="edge")
        scores = np.convolve(padded, np.ones(width) / width, mode="valid")
        return replace(self, scores=scores)

    def z(self, lag: int, away: int = 8) -> float:
        """How far the score at ``lag`` stands above the lags at least ``away`` frames from it."""
        far = np.abs(self.lags - lag) >= away
        spread = float(self.scores[far].std())
        return (self.at(lag) - float(self.scores[far].mean())) / max(spread, 1e-6)


def sync_curve(media: Media, vad_threshold: float, min_confidence: float, window: int = WINDOW) -> SyncCurve | None:
    """The sync curve of a video with its own sound (None without 25 fps frames or sound); computed once.
    ``window``: the frames of picture encoded, the stretch with the most speech."""
    if media.talk is None or media.audio() is None:
        return None
    return media.shared(f"sync:{vad_threshold}:{min_confidence}:{window}",
                        lambda: _curve(media, vad_threshold, min_confidence, window))


@dataclass(frozen=True)
class Encoded:
    """The two encoders' output for a clip: what its sync curve is computed from. The picture's and
    the sound's are independent, so another sound's can be set against a picture's (eval/avsync.py)."""

    visual: np.ndarray  # (frames, 128): the picture's, from frame ``first`` on
    first: int
    audio: np.ndarray  # (n, 128): the sound's, the whole clip at 25 a second
    speech: np.ndarray  # (n,) bool: the sound is speech there (VAD)
    mouth_px: np.ndarray  # (n,) the mouth crop's side in the source's pixels
    face: np.ndarray | None = None  # (n,) bool: the nearest sampled frame has a face (None: all have)


def _curve(media: Media, vad_threshold: float, min_confidence: float, window: int) -> SyncCurve | None:
    encoded = encode(media, vad_threshold, min_confidence, window)
    return None if encoded is None else curve_of(encoded)


def encode(media: Media, vad_threshold: float, min_confidence: float, window: int = WINDOW) -> Encoded | None:
    """Both encoders over a clip: the sound's over all of it, the picture's over the ``window``
    frames that hold the most speech (the costly part). None without a face or with under 2 s."""
    frames = media.talk  # indexed a frame at a time: the window's crops need no stacked copy of them all
    audio = media.audio()
    track = face_track(media, min_confidence)
    activity = speech_activity(media, vad_threshold)
    features = mfcc(audio.samples).astype(np.float32)
    n = min(len(frames), len(features) // 4)
    boxes = _boxes(track, n, media.talk.width / max(track.frame_width, 1))
    if boxes is None or n < 2 * _EDGE + FPS:
        return None
    times = np.arange(n) / FPS
    speech = np.zeros(n, dtype=bool)
    for start, end in activity.spans:
        speech[(times >= start) & (times < end)] = True
    first, width = best_window(speech, window)
    crops = np.stack([_crop(frames[i], *boxes[i]) for i in range(first, first + width)]).astype(np.float32)
    audio_embed = onnx.run_once("light_asd_audio.onnx", {"mfcc": features[None, : 4 * n]})[0][0]
    mouth = 1.4 * boxes[:, 2] * media.probe.video.width / media.talk.width
    return Encoded(visual=_visual_embedding(crops), first=first, audio=audio_embed[:n], speech=speech, mouth_px=mouth,
                   face=_with_face(track, n))


def best_window(speech: np.ndarray, window: int) -> tuple[int, int]:
    """(first frame, frames) of the ``window`` frames holding the most speech."""
    width = min(window, len(speech))
    counts = np.convolve(speech.astype(int), np.ones(width, dtype=int), mode="valid")
    return int(np.argmax(counts)), width


def curve_of(e: Encoded) -> SyncCurve | None:
    """The sync curve: the back end over the picture's frames and the sound shifted by each lag."""
    n, first, width = len(e.audio), e.first, len(e.visual)
    times = np.arange(n) / FPS
    backend = onnx.session("light_asd_backend.onnx")
    lags = np.arange(-MAX_LAG, MAX_LAG + 1)
    scores = np.full(len(lags), np.nan)
    speaking = np.zeros(0)
    scored = np.zeros(0, dtype=int)
    for k, lag in enumerate(lags):
        # Picture frames t (in the window) whose sound t + lag exists, both away from the ends of
        # what was encoded: the encoders' first and last frames are edge effects, and where both
        # sequences' edges coincide (at lag 0) the back end saw a pattern of its own and the
        # curve peaked at 0 for any sound.
        lo = max(first + _EDGE, _EDGE - lag)
        hi = min(first + width - _EDGE, n - _EDGE - lag)
        # The sound compared is speech, and the picture has a face (a crop where there is none is
        # of the background: a face that left the frame, turned away, or was hidden).
        mask = e.speech[lo + lag : hi + lag] if hi > lo else np.zeros(0, dtype=bool)
        if e.face is not None and hi > lo:
            mask = mask & e.face[lo:hi]
        if np.count_nonzero(mask) < _MIN_SCORED:
            continue
        x = e.visual[lo - first : hi - first] + e.audio[lo + lag : hi + lag]
        logits = backend.run(None, {"x": x[None]})[0][0]
        odds = logits[:, 1] - logits[:, 0]
        scores[k] = float(odds[mask].mean())
        if lag == 0:
            speaking, scored = odds[mask], np.arange(lo, hi)[mask]
    valid = ~np.isnan(scores)
    if np.count_nonzero(valid) < len(lags) // 2 or 0 not in lags[valid]:
        return None
    return SyncCurve(lags=lags[valid], scores=scores[valid], frames=len(scored), times=times[scored], speaking=speaking,
                     mouth_px=float(np.median(e.mouth_px[scored])))


def _visual_embedding(crops: np.ndarray) -> np.ndarray:
    """The visual encoder's output for (frames, 112, 112) crops, run on at most ``_CHUNK`` frames at
    a time, one after the other, each with ``_HALO`` frames of context either side.

    Its activations take about a megabyte a frame (64 channels of 56x56 floats, several layers
    live), so 10 s at once would hold half a gigabyte. Its temporal convolutions see 6 frames each
    way, so chunks with that much context give exactly the whole run's output (tested).
    """
    n = len(crops)
    bounds = np.linspace(0, n, -(-n // _CHUNK) + 1).round().astype(int)
    spans = [(start, end, max(0, start - _HALO), min(n, end + _HALO)) for start, end in zip(bounds[:-1], bounds[1:])]
    outs = onnx.run_all("light_asd_visual.onnx", ({"crops": crops[None, a:b]} for _, _, a, b in spans))
    return np.concatenate([out[0][0][start - a : end - a] for out, (start, end, a, _) in zip(outs, spans)])


def _boxes(track, n: int, scale: float) -> np.ndarray | None:
    """(cx, cy, s) per 25 fps frame in talk pixels, from the largest face on the sampled frames."""
    found = [(t, max(f, key=lambda b: b.width * b.height)) for t, f in zip(track.times, track.faces) if f]
    if len(found) < 2:
        return None
    t = np.array([x[0] for x in found])
    cx = np.array([b.x + b.width / 2 for _, b in found]) * scale
    cy = np.array([b.y + b.height / 2 for _, b in found]) * scale
    s = np.array([max(b.width, b.height) / 2 for _, b in found]) * scale
    at = np.arange(n) / FPS
    series = [_running_median(np.interp(at, t, v), _SMOOTH) for v in (cx, cy, s)]
    return np.stack(series, axis=1)


def _with_face(track, n: int) -> np.ndarray:
    """Per 25 fps frame: whether the nearest sampled frame found a face."""
    found = np.array([bool(f) for f in track.faces])
    if not len(found):
        return np.zeros(n, dtype=bool)
    nearest = np.abs(np.arange(n)[:, None] / FPS - np.asarray(track.times)[None, :]).argmin(axis=1)
    return found[nearest]


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    half = width // 2
    padded = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def _crop(frame: np.ndarray, cx: float, cy: float, s: float) -> np.ndarray:
    """The mouth region: a 1.4 s square from cy - 0.3 s to cy + 1.1 s, cx - 0.7 s to cx + 0.7 s."""
    side = max(int(round(1.4 * s)), 2)
    x0, y0 = int(round(cx - 0.7 * s)), int(round(cy - 0.3 * s))
    height, width = frame.shape
    out = np.full((side, side), _PAD, dtype=np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(width, x0 + side), min(height, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    return cv2.resize(out, (CROP, CROP), interpolation=cv2.INTER_AREA if side > CROP else cv2.INTER_LINEAR)
