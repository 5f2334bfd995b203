"""frontal: whether the person faces the camera, and on a still, with the eyes open.

Mosaic builds the avatar facing the viewer; a profile or a head turned down to notes gives it a
face it must guess. Yaw and pitch come from the face landmarker's head pose (see
:mod:`preflight.features.landmarks`). A frame counts as turned away beyond ``max_yaw`` of yaw or
``max_pitch`` of pitch, where one ear or the underside of the chin shows and half the mouth hides;
the check warns when that is the case in more than ``warn_ratio`` of the measured frames (an
image: when it is turned). A video warns rather than fails: a turned head degrades the avatar, and
the frames that face the camera still show the face (interviews look off-camera by 30-40 degrees).
A still fails past ``image_fail_yaw``: its one pose is all the avatar has of the face, and a
three-quarter or profile photo (43-55 degrees as the landmarker reads them) is far from portraits
(0-22). Weak spots: the pose is estimated from one camera; strong lens distortion or a face cut
off by the frame edge bends it by several degrees; the landmarker reads a full profile low (about 50).

A still also warns when its eyes look closed (the avatar would have to invent them): the
landmarker's blink scores for both eyes, their mean, above ``image_eyes_closed_above``. Open eyes
read up to about 0.5 (heavy lids narrowed half shut, a broad smile), most shut ones 0.56-0.81. It
warns, not fails: a fifth of shut eyes read as low as open ones (webcam light, a face on its
side), and half-shut lids read near the limit. A video is not judged on its eyes (blinks come and go).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.faces import FaceTrack, face_track
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Timelines

REASONS = {"frontal.turned_away": "the head is turned or tilted away from the camera too often",
           "frontal.profile": "a still of a face turned well away: a three-quarter or profile view",
           "frontal.eyes_closed": "a still whose eyes look closed"}


@dataclass(frozen=True)
class Pose(Timelines):
    role: Role
    track: FaceTrack
    fps: float  # sampled frames a second


def measure(media: Media, policy: Policy) -> Pose:
    return Pose(media.source, media.role, face_track(media, policy.faces.min_confidence),
                media.sample_fps or policy.faces.sample_fps)


def judge(t: Pose, window: Span, policy: Policy) -> list[Check]:
    limits = policy.frontal
    source = t.source
    limit = (f"turned beyond {limits.max_yaw:g} deg yaw / {limits.max_pitch:g} deg pitch "
             f"in <= {limits.warn_ratio:.0%} of frames")
    track = t.track.within(window.start, window.end)
    found = track.measured
    if not found.any():
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit, message="no face measured")]
    yaw, pitch = track.yaw[found], track.pitch[found]
    turned = (np.abs(yaw) > limits.max_yaw) | (np.abs(pitch) > limits.max_pitch)
    ratio = float(turned.mean())
    angles = f"median yaw {np.median(yaw):+.0f} deg, pitch {np.median(pitch):+.0f} deg"
    if t.role is Role.IMAGE:
        message = f"{'turned away' if turned[0] else 'facing the camera'} (yaw {yaw[0]:+.0f} deg, pitch {pitch[0]:+.0f} deg)"
    else:
        message = f"turned away in {ratio:.0%} of {len(yaw)} frames ({angles})"
    shut = track.eyes_closed[found][0] if t.role is Role.IMAGE and track.eyes_closed is not None else None
    closed = shut is not None and shut > limits.image_eyes_closed_above  # NaN (not scored) compares False
    if ratio <= limits.warn_ratio and not closed:
        return [ANALYZER.check(source, Status.PASS, value=round(ratio, 3), limit=limit, message=message)]
    if t.role is Role.IMAGE and abs(yaw[0]) > limits.image_fail_yaw:
        return [ANALYZER.check(source, Status.FAIL, reason="frontal.profile", value=round(ratio, 3),
                               limit=f"{limit}; a still fails turned beyond {limits.image_fail_yaw:g} deg yaw",
                               message=f"{message}: a three-quarter or profile view",
                               fix="use a photo that faces the camera, both ears hidden or equally visible")]
    if closed:
        return [ANALYZER.check(source, Status.WARN, reason="frontal.eyes_closed", value=round(ratio, 3),
                               limit=f"{limit}; a still's eyes score at most {limits.image_eyes_closed_above:g} shut "
                               "(0 open, 1 shut)", details={"eyes_closed": round(float(shut), 3)},
                               message=f"{message}; the eyes look closed (scored {shut:.2f} shut)",
                               fix="use a photo with the eyes open, looking into the lens")]
    spans = Span.merge(track.times[found][turned], 1.0 / t.fps) if t.role is Role.VIDEO else []
    return [ANALYZER.check(source, Status.WARN, reason="frontal.turned_away", value=round(ratio, 3), limit=limit,
                           spans=spans, message=message,
                           fix="have the person look into the lens, head level, for the whole clip")]


ANALYZER = Analyzer(checks=("frontal",), roles=frozenset({Role.VIDEO, Role.IMAGE}), policy="frontal",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    needs=Needs(frames=True, landmarks=True),
                    units={"frontal": "share of frames"})
