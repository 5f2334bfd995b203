"""Pictures of what the checks saw, for people: a strip of frames with the face boxes, the frames
on both sides of each cut, and the waveform with the speech and music spans.

Gathered from the decoded media and the features the analyzers already computed (nothing is
decoded or detected twice), small enough to embed: JPEG thumbnails 160 px wide, 400 waveform
peaks per source. The HTML batch report draws them (:mod:`preflight.html`).
"""

from __future__ import annotations

import base64

import cv2
import numpy as np
from pydantic import BaseModel

from preflight.features.faces import face_track
from preflight.features.sound_events import HOP_S, sound_events
from preflight.features.vad import speech_activity
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Report, Span, Status

STRIP_FRAMES = 8
THUMB_WIDTH = 160
WAVE_BINS = 400


class Picture(BaseModel):
    time: float  # seconds
    jpeg: str  # base64
    boxes: list[tuple[float, float, float, float]]  # faces: x, y, width, height as shares of the frame


class Cut(BaseModel):
    time: float
    before: Picture
    after: Picture


class Wave(BaseModel):
    duration: float  # seconds
    peaks: list[float]  # the largest |sample| in each of WAVE_BINS equal stretches, 0-1
    speech: list[Span]
    music: list[Span]


class Evidence(BaseModel):
    source: str
    frames: list[Picture] = []
    cuts: list[Cut] = []
    wave: Wave | None = None


def gather(media: list[Media], report: Report, policy: Policy) -> list[Evidence]:
    """One :class:`Evidence` per source; call after the analyzers, before the media is closed."""
    return [_of(m, report, policy) for m in media]


def _of(media: Media, report: Report, policy: Policy) -> Evidence:
    source = media.source.label
    found = Evidence(source=source)
    if media.role is not Role.AUDIO and media.rgb is not None and len(media.rgb):
        frames, times = media.rgb, media.rgb.times
        track = face_track(media, policy.faces.min_confidence)
        boxes = track.faces if len(track.faces) == len(frames) else [[] for _ in frames]
        picks = np.unique(np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames))).round().astype(int))

        def picture(i: int) -> Picture:
            return _picture(frames[i], float(times[i]), boxes[i])

        found.frames = [picture(i) for i in picks]
        cut_times = [s.start for c in report.checks
                     if c.id == "scene_cuts" and c.source == source and c.status in (Status.FAIL, Status.WARN)
                     for s in c.spans]
        for t in cut_times:
            after = int(np.searchsorted(times, t, side="right"))
            if 0 < after < len(frames):
                found.cuts.append(Cut(time=t, before=picture(after - 1), after=picture(after)))
    audio = media.audio() if media.role is not Role.IMAGE else None
    if audio is not None and len(audio.samples):
        activity = speech_activity(media, policy.speech.threshold)
        events = sound_events(media)
        music: list[Span] = []
        if events is not None and len(events.music):
            heard = np.maximum(events.music, events.singing) >= policy.music.probability
            music = Span.runs(events.times(heard), HOP_S, gap=HOP_S)
        found.wave = Wave(duration=round(audio.duration, 3), peaks=_peaks(audio.samples),
                          speech=[Span(start=round(a, 3), end=round(b, 3)) for a, b in (activity.spans if activity else [])],
                          music=music)
    return found


def _picture(frame: np.ndarray, time: float, faces: list) -> Picture:
    h, w = frame.shape[:2]
    return picture(frame, time, [(b.x / w, b.y / h, b.width / w, b.height / h) for b in faces])


def picture(frame: np.ndarray, time: float, boxes: list[tuple[float, float, float, float]],
            width: int = THUMB_WIDTH) -> Picture:
    """An RGB frame as a JPEG thumbnail ``width`` px wide, with ``boxes`` (x, y, width, height as
    shares of the frame) to draw over it."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return Picture(time=round(time, 3), jpeg=base64.b64encode(jpeg.tobytes()).decode(),
                   boxes=[tuple(round(v, 4) for v in box) for box in boxes])


def _peaks(samples: np.ndarray) -> list[float]:
    usable = len(samples) // WAVE_BINS * WAVE_BINS
    if usable == 0:
        return [float(min(1.0, np.abs(samples).max()))]
    peaks = np.abs(samples[:usable]).reshape(WAVE_BINS, -1).max(axis=1)
    return [round(float(p), 3) for p in np.minimum(peaks, 1.0)]
