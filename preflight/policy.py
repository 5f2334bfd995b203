"""Every limit the checks hold media to, in one typed object.

Defaults follow Mosaic's documented rules for avatar sources, set where the labelled
recordings in ``shared/media`` put them. Override any of them in ``preflight.toml``, in
``[tool.preflight]`` of a ``pyproject.toml`` (the nearest one from the working directory up),
or with ``--config FILE``::

    [duration]
    max_s = 12.0

    [faces]
    none_max_ratio = 0.1
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from preflight.errors import UsageError

log = logging.getLogger("preflight.policy")


# No limit is this large; past it an integer no longer converts to a float exactly (a typo, or a
# file written to break the parser: 1e400 reads as infinity, which allow_inf_nan refuses).
_LARGEST = 2**53


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    # (lower, higher) pairs of keys that must keep that order: a minimum below its maximum, a
    # warning before a failure.
    _ordered: ClassVar[tuple[tuple[str, str], ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _not_huge(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST:
            raise ValueError(f"a number this large is no limit (at most {_LARGEST:,})")
        return value

    @model_validator(mode="after")
    def _check_order(self):
        for low, high in self._ordered:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low):g}) must not be above {high} ({getattr(self, high):g})")
        return self


class DurationLimits(_Limits):
    min_s: float = Field(4.0, gt=0, description="shortest accepted video or voice audio, seconds")
    max_s: float = Field(15.0, gt=0, description="longest accepted video or voice audio, seconds")
    _ordered = (("min_s", "max_s"),)


class ResolutionLimits(_Limits):
    warn_below: int = Field(480, ge=1, description="short side in pixels below which a warning is given")
    fail_below: int = Field(240, ge=1, description="short side in pixels below which the source fails")
    _ordered = (("fail_below", "warn_below"),)


class FaceLimits(_Limits):
    sample_fps: float = Field(5.0, gt=0, le=30, description="frames a second given to the face detector")
    min_confidence: float = Field(0.5, gt=0, lt=1, description="detector score for a face to count")
    multi_max_ratio: float = Field(0.10, ge=0, le=1, description="share of frames with 2+ faces at which it fails")
    multi_max_run_s: float = Field(0.5, ge=0, description="a run of 2+ faces this long fails, seconds")
    none_max_ratio: float = Field(0.20, ge=0, le=1, description="share of frames with no face above which it fails")
    size_warn_below: float = Field(0.15, ge=0, le=1, description="face height / frame height below which it warns")
    sideways_roll: float = Field(
        60.0, gt=0, lt=180, description="median roll of the face (degrees) beyond which the picture is taken to lie on its side or upside down"
    )
    human_min_views: int = Field(
        6, ge=1, le=7, description="of 7 crops of the face, how many the strict landmarker must take for a person's face"
    )


class SceneCutLimits(_Limits):
    adaptive_ratio: float = Field(
        4.0, gt=1, description="a frame's change over the mean change around it that marks a cut"
    )
    min_change: float = Field(
        8.0, ge=0, description="smallest frame change (grey and edge difference, 0-255) that can be a cut"
    )
    window_s: float = Field(0.25, gt=0, description="neighbourhood on each side the change is compared with, seconds")
    dark_level: float = Field(16.0, ge=0, le=255, description="mean grey level at or below which a frame is a fade to black")
    edge_frames: int = Field(2, ge=0, description="a cut leaving at most this many frames at the start or end warns (stray frames), not fails")
    repeat_below: float = Field(
        1.0, ge=0, description="a frame within this mean grey difference (0-255) of the last distinct one is a repeat, and skipped"
    )


class MouthLimits(_Limits):
    min_range: float = Field(
        0.02, ge=0, description="lip opening (inner-lip gap / face height), 90th minus 10th percentile while speech is heard, below which it fails"
    )


class FrontalLimits(_Limits):
    max_yaw: float = Field(30.0, gt=0, le=90, description="head turned left or right beyond this many degrees counts as turned away")
    max_pitch: float = Field(25.0, gt=0, le=90, description="head tilted up or down beyond this many degrees counts as turned away")
    warn_ratio: float = Field(0.3, ge=0, le=1, description="share of frames turned away above which it warns")
    image_fail_yaw: float = Field(
        35.0, gt=0, le=90, description="a still whose face is turned left or right beyond this many degrees fails: a three-quarter "
        "or profile view is the avatar's only view of the face (portraits read 0-22 deg, three-quarter and profile photos 43-55)"
    )
    image_eyes_closed_above: float = Field(
        0.55, ge=0, le=1, description="a still whose eyes' blink score (the landmarker's blendshapes, both eyes' mean) is above this "
        "warns that the eyes look closed: open eyes read 0-0.49 (the most, heavy lids narrowed half shut), most shut ones 0.56-0.81"
    )
    _ordered = (("max_yaw", "image_fail_yaw"),)


class OverlayLimits(_Limits):
    warn_area: float = Field(0.001, ge=0, le=1, description="share of the frame a static text-like mark must cover to warn")
    fail_area: float = Field(0.01, ge=0, le=1, description="share of the frame static text-like marks must cover to fail")
    min_presence: float = Field(0.9, gt=0, le=1, description="share of sampled frames an edge must be in, at the same pixel, to count as static")
    mark_span: float = Field(
        0.4, gt=0, le=1, description="a static corner mark's box spans at most this share of the picture's width and height (larger: the scene's structure)"
    )
    graphic_spread: float = Field(
        3.0, ge=0, description="a flat region is drawn (a logo's fill, a lower third's bar) when its colour varies at most this much (standard deviation, grey levels)"
    )
    graphic_colour: float = Field(
        100.0, ge=0, le=255, description="a drawn region on a still is a logo's shape when its colour is at least this saturated (mean gap between the largest and smallest channel, grey levels)"
    )
    graphic_contrast: float = Field(
        30.0, ge=0, le=255, description="a drawn region on a still is a logo's shape when it differs at least this much from what lies around it (median, grey levels): a sharp border"
    )
    text_presence: float = Field(0.6, gt=0, le=1, description="share of the sampled frames a line of text must be on, in one place, to count as burned in")
    text_drift: float = Field(
        0.01, ge=0, le=1, description="how far (share of the frame) a burned-in line may seem to move between sampled frames: the text detector's jitter; text in the scene moves with the camera"
    )
    min_line_score: float = Field(
        0.7, ge=0, le=1, description="the text detector's score a line needs: burned-in lines score 0.93-0.98, strokes it lights up on clothes 0.5-0.6"
    )
    min_line_height: float = Field(0.01, ge=0, le=1, description="a line of text at least this share of the frame's height (smaller is not legible as a caption)")
    max_line_height: float = Field(0.15, ge=0, le=1, description="a line of text at most this share of the frame's height (taller boxes are faces or objects)")
    caption_width: float = Field(0.3, ge=0, le=1, description="on a still, a line across this share of the width reads as a caption (which fails)")
    caption_top: float = Field(0.15, ge=0, le=1, description="on a still, a line ending above this share of the height reads as a caption (a title)")
    caption_bottom: float = Field(0.75, ge=0, le=1, description="on a still, a line starting below this share of the height reads as a caption (a lower third)")
    corner: float = Field(0.15, gt=0, le=0.5, description="a mark is in a corner when it reaches within this share of the picture's width and height of two sides")
    logo_zone: float = Field(0.25, gt=0, le=0.5, description="on a still, a logo lies within this share of the width and height of a corner")
    max_logo: float = Field(0.05, ge=0, le=1, description="share of the frame a corner blob of the text detector covers at most to be read as a logo (faces and clothes it lights up are larger)")
    max_plate: float = Field(0.3, ge=0, le=1, description="share of the frame a flat plate behind burned-in text covers at most (larger: the scene's wall, not a bar)")
    min_density: float = Field(0.08, ge=0, le=1, description="share of a static corner region's box its static edges must fill to be a mark")
    inset_frames: int = Field(3, ge=1, description="sampled frames (5 a second) an inset picture must be seen on")
    inset_gone: float = Field(
        0.3, ge=0, le=1, description="share of an inset's outline under which it is gone from a frame: outlines still there read 0.5-1, gone ones 0-0.34"
    )
    cut_change: float = Field(
        30.0, ge=0, le=255, description="mean change (grey levels, on a 16 x 16 thumbnail away from an inset) at which the whole picture changed: a cut, not an inset going (cuts 39-65, motion 1-25)"
    )
    min_side_px: int = Field(240, ge=0, description="sampled frames whose short side is under this many pixels are too small to tell corner marks and insets from the scene")
    min_crossing: float = Field(
        0.25, ge=0, le=1, description="a static corner mark's edges run both ways: of its edge pixels on level and on upright "
        "runs, the fewer at least this share of the more; lines all one way (blinds, a shelf's edge) stay on the same pixels "
        "while the camera moves along them, so they are the scene's: a hint, which warns"
    )
    around_moving: float = Field(
        3.0, ge=0, description="median change (grey levels, sampled frame to frame) of the scene's edges around a static corner mark above which the scene moves and the mark fails; around a still scene it only warns"
    )
    _ordered = (("min_line_height", "max_line_height"), ("caption_top", "caption_bottom"))


class AvSyncLimits(_Limits):
    # ITU-R BT.1359: sound ahead of the picture is detectable from 45 ms and unacceptable past 90 ms;
    # sound behind it detectable from 125 ms and unacceptable past 185 ms.
    detect_early_ms: int = Field(45, ge=0, description="sound this far ahead of the picture is still in sync (BT.1359 detectability)")
    detect_late_ms: int = Field(125, ge=0, description="sound this far behind the picture is still in sync (BT.1359 detectability)")
    accept_early_ms: int = Field(90, ge=0, description="sound further ahead than this is out of sync (BT.1359 acceptability)")
    accept_late_ms: int = Field(185, ge=0, description="sound further behind than this is out of sync (BT.1359 acceptability)")
    offset_margin_ms: int = Field(40, ge=0, description="how far past acceptability a measured offset must be to fail: the measure's precision")
    pass_at: float = Field(6.5, description="sync strength (z-score near sync) at or above which the voice is clearly the face's own")
    fail_below: float = Field(1.0, description="sync strength below which it fails as another voice, on strong evidence")
    faint_below: float = Field(2.2, description="sync strength under which own voices and dubs read alike, on strong evidence: "
                                                "it fails there only when the voice agrees better out of sync (a peak of "
                                                "hint_z or more past acceptability), else warns")
    offset_z: float = Field(6.0, description="a peak this strong away from sync reads as the same voice, out of sync; "
                                             "a copy fix re-synced must show it this strong near sync")
    hint_z: float = Field(3.0, description="a weaker peak away from sync is named as the lag to try, if the voice is their own")
    min_frames: int = Field(150, ge=1, description="speech frames with a face (25 fps) for strong evidence: fewer only warn")
    min_mouth_px: float = Field(90.0, ge=0, description="the mouth crop's side in source pixels for strong evidence: smaller only warns")
    _ordered = (("fail_below", "faint_below"), ("faint_below", "pass_at"), ("detect_early_ms", "accept_early_ms"),
                ("detect_late_ms", "accept_late_ms"))


class SpeechLimits(_Limits):
    threshold: float = Field(0.5, gt=0, lt=1, description="VAD probability above which a 32 ms window is speech")
    min_ratio: float = Field(0.5, ge=0, le=1, description="share of the clip that must be speech")


class NoiseLimits(_Limits):
    warn_below_db: float = Field(15.0, description="voice over background (dB) below which it warns")
    fail_below_db: float = Field(10.0, description="voice over background (dB) below which it fails")
    intrusive_below: float = Field(
        3.0, ge=1, le=5, description="DNSMOS background score (1-5) below which the background warns, whatever the SNR"
    )
    _ordered = (("fail_below_db", "warn_below_db"),)


class SingleSpeakerLimits(_Limits):
    same_voice: float = Field(
        0.52, gt=-1, lt=1,
        description="speaker-embedding similarity (the mean of CAM++'s and GE2E's cosines) under which two pieces of speech are different voices (fails)"
    )
    maybe_same_voice: float = Field(
        0.58, gt=-1, lt=1, description="similarity under which two pieces of speech may be different voices (warns)"
    )
    other_max_s: float = Field(1.0, ge=0, description="speech by anyone but the main voice above which it fails, seconds")
    overlap_max_s: float = Field(1.0, ge=0, description="speech where two people talk at once above which it fails, seconds")
    channels_agree: float = Field(
        0.5, gt=-1, lt=1, description="loudness correlation of two channels under which they carry different sounds (warns)"
    )
    _ordered = (("same_voice", "maybe_same_voice"),)


class MusicLimits(_Limits):
    probability: float = Field(0.5, gt=0, lt=1, description="detector probability above which music or singing is heard")
    warn_s: float = Field(1.0, ge=0, description="music or singing heard for longer than this warns, seconds")
    fail_s: float = Field(3.0, ge=0, description="music or singing heard for longer than this fails, seconds")
    pause_probability: float = Field(
        0.3, gt=0, lt=1, description="detector probability above which music is heard in a pause between words"
    )
    pause_max_s: float = Field(1.0, ge=0, description="music heard between the words for longer than this fails, seconds")
    bed_warn: float = Field(
        0.25, gt=0, lt=1, description="the audio tagger's probability of Music for the whole clip at or above which it warns"
    )
    bed_fail: float = Field(
        0.5, gt=0, lt=1, description="the audio tagger's probability of Music for the whole clip at or above which it fails (a bed under the voice)"
    )
    _ordered = (("warn_s", "fail_s"), ("bed_warn", "bed_fail"))


class LoudnessLimits(_Limits):
    quiet_below_lufs: float = Field(
        -35.0, le=0, description="integrated loudness (ITU-R BS.1770 / EBU R128) below which it warns, LUFS"
    )
    clip_level: float = Field(0.99, gt=0, le=1, description="sample magnitude that counts as clipped (1.0 = full scale)")
    clip_max_ratio: float = Field(0.001, ge=0, le=1, description="share of clipped samples above which it warns")


class FixLimits(_Limits):
    max_input_s: float = Field(
        600.0, gt=0, le=3600, description="longest recording `preflight fix` reads, seconds (its time grows with the length; its memory by about 55 MB a minute)"
    )
    margin_s: float = Field(
        0.3, ge=0, description="the window stays this far under the duration maximum, so re-encoding cannot push it over, seconds"
    )
    pause_lead_s: float = Field(
        0.25, ge=0, le=2, description="silence kept before the first word and after the last, where the pause allows, seconds"
    )
    mid_word_cost_s: float = Field(
        1.0, ge=0, description="a window edge inside speech counts as this much shorter than one in a pause, seconds"
    )
    target_lufs: float = Field(
        -23.0, le=-5, description="integrated loudness (EBU R128) a quiet voice is brought to, LUFS"
    )
    max_true_peak_dbtp: float = Field(
        -1.0, le=0, description="the gain that brings a quiet voice up stops where its true peak reaches this, dBTP"
    )
    headroom: float = Field(
        0.1, ge=0, le=1, description="a crop keeps this much of the face's height above the speaker's face box (forehead, hair)"
    )
    chin_room: float = Field(
        0.25, ge=0, le=2, description="a crop keeps this much of the face's height below the speaker's face box (chin, neck)"
    )
    side_room: float = Field(
        0.1, ge=0, le=1, description="a crop keeps this much of the face's width each side of the speaker's face box (ears)"
    )
    other_face_room: float = Field(
        0.25, ge=0, le=2, description="a crop leaves out another face with this much of its width around it (hair, "
                                      "ears), and everything below it (the body)"
    )
    mark_room: float = Field(
        0.5, ge=0, le=5, description="a crop leaves out a mark or a line of text with this much of its height around "
                                     "it (the plate it sits on)"
    )


class Policy(_Limits):
    """All limits. The report records the policy it was judged by."""

    strict: bool = Field(False, description="warnings block like failures")
    duration: DurationLimits = DurationLimits()
    resolution: ResolutionLimits = ResolutionLimits()
    faces: FaceLimits = FaceLimits()
    scene_cuts: SceneCutLimits = SceneCutLimits()
    mouth_motion: MouthLimits = MouthLimits()
    frontal: FrontalLimits = FrontalLimits()
    overlay: OverlayLimits = OverlayLimits()
    av_sync: AvSyncLimits = AvSyncLimits()
    speech: SpeechLimits = SpeechLimits()
    single_speaker: SingleSpeakerLimits = SingleSpeakerLimits()
    music: MusicLimits = MusicLimits()
    noise: NoiseLimits = NoiseLimits()
    loudness: LoudnessLimits = LoudnessLimits()
    fix: FixLimits = FixLimits()

    @model_validator(mode="after")
    def _fix_window_fits(self):
        if self.duration.max_s - self.fix.margin_s < self.duration.min_s:
            raise ValueError(f"fix.margin_s ({self.fix.margin_s:g}) leaves no window between duration.min_s "
                             f"({self.duration.min_s:g}) and duration.max_s ({self.duration.max_s:g})")
        return self


def load_policy(config: Path | None = None, start: Path | None = None) -> Policy:
    """The policy from ``config``, else the nearest ``preflight.toml`` or ``[tool.preflight]`` up from
    ``start`` (default: the working directory), else the defaults."""
    if config is not None:
        return _from_file(config, pyproject=config.name == "pyproject.toml")
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "preflight.toml").is_file():
            return _from_file(folder / "preflight.toml", pyproject=False)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_preflight_table(pyproject):
            return _from_file(pyproject, pyproject=True)
    log.info("policy: the built-in limits (no preflight.toml or [tool.preflight] from %s up)", here)
    return Policy()


def _from_file(path: Path, *, pyproject: bool) -> Policy:
    log.info("policy: %s", path)
    data = _read_toml(path)
    if pyproject:
        data = data.get("tool", {}).get("preflight", {})
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"{path}: bad policy ({problems})") from None


def _has_preflight_table(pyproject: Path) -> bool:
    # A broken pyproject.toml on the way up may be someone else's: it is not an error, but its
    # [tool.preflight], if it has one, goes unread, and that is said.
    try:
        return "preflight" in _read_toml(pyproject).get("tool", {})
    except UsageError as exc:
        log.warning("warning: %s; any [tool.preflight] in it is not read (the built-in limits apply unless another "
                    "file sets them: fix it, or give --config)", exc)
        return False


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the policy file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the policy file is not UTF-8 text; save it as UTF-8") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise UsageError(f"{path}: not a policy file ({str(exc).split(';')[0]})") from None
    except RecursionError:
        raise UsageError(f"{path}: not a policy file (arrays or tables nested too deep to read)") from None
