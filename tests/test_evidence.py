"""Pictures of what the checks saw: frames with face boxes, frames around cuts, the waveform."""

import base64

import cv2
import numpy as np

from preflight.pipeline import inspect
from preflight.sources import Sources


def _decoded(picture):
    return cv2.imdecode(np.frombuffer(base64.b64decode(picture.jpeg), np.uint8), cv2.IMREAD_COLOR)


def test_a_talking_head_gives_a_strip_with_its_face_and_a_waveform_with_speech(inspected_of):
    report, (seen,) = inspected_of("talking_head.mp4")
    assert len(seen.frames) == 8 and seen.cuts == []
    assert all(len(p.boxes) == 1 for p in seen.frames)
    x, y, w, h = seen.frames[0].boxes[0]
    assert 0.3 < x + w / 2 < 0.7 and 0 < h < 1  # a centred face, as a share of the frame
    assert _decoded(seen.frames[0]).shape[1] == 160
    assert abs(seen.wave.duration - 9.0) < 0.1 and len(seen.wave.peaks) == 400 and max(seen.wave.peaks) > 0.1
    assert sum(s.end - s.start for s in seen.wave.speech) > 5
    assert sum(s.end - s.start for s in seen.wave.music) < 1.0  # a blip at most, as the music check allows


def test_a_cut_shows_the_frames_on_both_sides(inspected_of):
    report, (seen,) = inspected_of("cut.mp4")
    (cut,) = seen.cuts
    assert cut.before.time < cut.time <= cut.after.time
    before, after = _decoded(cut.before), _decoded(cut.after)
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 20  # two different shots


def test_music_spans_and_an_image_alone(inspected_of):
    report, (image, voice) = inspected_of(image="face.png", audio="speech_music.wav")
    assert len(image.frames) == 1 and image.wave is None
    assert voice.frames == [] and sum(s.end - s.start for s in voice.wave.music) > 5


def test_no_pictures_when_not_asked(fixture_path):
    assert inspect(Sources((str(fixture_path("speech.wav")),)), evidence=False)[1] == []
