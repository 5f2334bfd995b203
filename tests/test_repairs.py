"""fix's repairs: the crop's geometry on synthetic rectangles, and each repair end to end on the
talking-head fixture given a fault: the rectangle within 5% of the frame, the gain within 1 dB,
the repaired file GO in its check, and a second repair of it finding nothing to do."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from preflight.media.probe import probe
from preflight.media.repair import true_loudness
from preflight.policy import Policy
from preflight.report import Status
from preflight.pipeline import check
from preflight.repairs import _largest, plan_file, repair

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


# -- the crop's geometry ----------------------------------------------------------------------------

def test_a_fault_beside_the_face_is_left_out_by_the_largest_crop():
    rect, why = _largest((0, 0, 1280, 720), keep=(500, 150, 800, 600), faults=[((0, 100, 300, 720), "another face")], min_side=480)
    assert why is None
    x0, y0, x1, y1 = rect
    assert x0 >= 300 and x1 == 1280 and (y0, y1) == (0, 720)  # every column right of the fault, the full height
    assert (x1 - x0) % 2 == 0 and (y1 - y0) % 2 == 0 and x0 % 2 == 0


def test_the_crop_keeps_within_16_9_and_holds_the_face():
    # bars above and below a very wide strip: the crop narrows to 16:9 around the face
    rect, _ = _largest((0, 200, 1920, 700), keep=(1500, 250, 1700, 650), faults=[], min_side=480)
    x0, y0, x1, y1 = rect
    assert (x1 - x0) / (y1 - y0) <= 16 / 9 + 1e-6
    assert x0 <= 1500 and x1 >= 1700 and y0 >= 200 and y1 <= 700


def test_a_fault_over_the_face_is_refused_by_name():
    rect, why = _largest((0, 0, 1280, 720), keep=(500, 150, 800, 600), faults=[((600, 500, 900, 700), "a mark or text burned in")],
                         min_side=480)
    assert rect is None and why == "a mark or text burned in lies within the speaker's head and shoulders"


def test_a_crop_under_the_resolution_warning_is_refused_in_its_terms():
    rect, why = _largest((0, 0, 640, 640), keep=(300, 100, 500, 600), faults=[((0, 0, 200, 640), "another face")], min_side=480)
    assert rect is None and "440x640" in why and "480 px the resolution check warns below" in why


# -- end to end on the fixture ----------------------------------------------------------------------

def _repaired(source: Path, tmp_path: Path):
    out = tmp_path / f"fixed{source.suffix}"
    result = repair(source, out, Policy())
    assert result.go and out.exists(), [c.message for c in result.report.checks if c.status is Status.FAIL] if result.report else result.plan
    again = plan_file(probe(out), Policy())
    assert again.repairs == [], again  # fix on its own output changes nothing
    return result


@pytest.mark.slow  # an encode, a repair and a whole check of the result (the quiet voice's stays in the fast set)
def test_letterbox_bars_are_cropped_away(fixture_path, tmp_path):
    source = tmp_path / "letterbox.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-vf", "pad=1280:960:0:120:black", "-c:a", "copy", source)
    crop = next(r for r in _repaired(source, tmp_path).plan.repairs if r.kind == "crop")
    x, y, w, h = crop.rect
    assert [abs(v - e) <= 0.05 * s for v, e, s in zip((x, y, x + w, y + h), (0, 120, 1280, 840), (1280, 960, 1280, 960))] == [True] * 4


@pytest.mark.slow  # an encode, a repair and a whole check of the result (the quiet voice's stays in the fast set)
def test_a_corner_bug_is_cropped_out(fixture_path, tmp_path):
    source = tmp_path / "bug.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-vf", f"drawtext=fontfile={FONT}:text='NEWS 24':fontcolor=white:fontsize=36:"
           "box=1:boxcolor=0xc0102a:boxborderw=14:x=w-tw-40:y=36", "-c:a", "copy", source)
    crop = next(r for r in _repaired(source, tmp_path).plan.repairs if r.kind == "crop")
    x, y, w, h = crop.rect
    # the rows under the bug (it ends about 100 px down), or the columns left of it (it starts about 1050 px across)
    assert (abs(y - 100) <= 36 and h >= 720 - 100 - 36) or (abs(x + w - 1050) <= 64 and x <= 64)


def test_a_quiet_voice_is_brought_to_the_target_picture_copied(fixture_path, tmp_path):
    source = tmp_path / "quiet.mp4"
    ffmpeg("-i", fixture_path("lowres.mp4"), "-af", "volume=-18dB", "-c:v", "copy", "-c:a", "aac", source)
    level, peak = true_loudness(probe(source))
    policy = Policy()
    wanted = min(policy.fix.target_lufs - level, policy.fix.max_true_peak_dbtp - peak)
    result = _repaired(source, tmp_path)
    gain = next(r for r in result.plan.repairs if r.kind == "loudness")
    assert abs(gain.gain_db - wanted) <= 1.0
    after, after_peak = true_loudness(probe(Path(result.output)))
    assert abs(after - (level + gain.gain_db)) <= 1.0 and after_peak <= policy.fix.max_true_peak_dbtp + 0.5
    frames = ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=size", "-of", "csv=p=0"]
    assert subprocess.run([*frames, source], capture_output=True, text=True).stdout == \
        subprocess.run([*frames, result.output], capture_output=True, text=True).stdout  # the picture copied


@pytest.mark.slow  # an encode, a repair and a whole check of the result (the quiet voice's stays in the fast set)
def test_stray_frames_at_the_start_are_trimmed(fixture_path, tmp_path):
    source = tmp_path / "stray.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25", "-filter_complex",
           "[1:v]trim=start_frame=0:end_frame=2,setpts=PTS-STARTPTS,format=yuv420p[o];[0:v]fps=25,format=yuv420p,"
           "trim=start_frame=2,setpts=PTS-STARTPTS[m];[o][m]concat=n=2:v=1[v]", "-map", "[v]", "-map", "0:a", "-c:a", "copy",
           "-shortest", source)
    trim = next(r for r in _repaired(source, tmp_path).plan.repairs if r.kind == "trim")
    assert abs(trim.start - 0.08) <= 0.041 and trim.end is None


def test_dry_run_plans_and_writes_nothing(fixture_path, tmp_path):
    source = tmp_path / "quiet.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-af", "volume=-18dB", "-c:v", "copy", "-c:a", "aac", source)
    out = tmp_path / "out.mp4"
    result = repair(source, out, Policy(), dry_run=True)
    assert [r.kind for r in result.plan.repairs] == ["loudness"] and result.output is None and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiet.mp4"]


def test_a_forbidden_kind_is_not_made(fixture_path, tmp_path):
    source = tmp_path / "quiet.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-af", "volume=-18dB", "-c:v", "copy", "-c:a", "aac", source)
    result = repair(source, tmp_path / "out.mp4", Policy(), frozenset({"crop", "trim"}), dry_run=True)
    assert result.plan.repairs == []


@pytest.mark.parametrize("fixture", ["talking_head.mp4", "face.png", "speech.wav"])
def test_a_good_source_needs_no_repair(fixture_path, fixture):
    assert plan_file(probe(fixture_path(fixture)), Policy()).repairs == []


@pytest.mark.slow  # an encode, a repair and a whole check of the result (the quiet voice's stays in the fast set)
def test_fix_repairs_before_it_cuts_and_the_cli_forbids_a_kind(fixture_path, tmp_path):
    from preflight.fix import fix
    from conftest import run_cli

    source = tmp_path / "quiet.mp4"
    ffmpeg("-i", fixture_path("talking_head.mp4"), "-af", "volume=-18dB", "-c:v", "copy", "-c:a", "aac", source)
    result = fix(source, output=tmp_path / "ada.mp4")
    assert [r.kind for r in result.repairs] == ["loudness"] and result.go and result.source == str(source)
    # the window's checks, judged on the repaired recording, name it as its source, never the repair's temporary file
    assert {c["source"] for c in json.loads(result.model_dump_json())["checks"]} == {str(source)}
    level, _ = true_loudness(probe(tmp_path / "ada.mp4"))
    assert abs(level - Policy().fix.target_lufs) <= 1.0
    # the window is all of it: the repaired file, checked GO, is the output, not cut and encoded again
    assert result.whole and result.report.sources[0].path == str(tmp_path / "ada.mp4")
    frames = ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=size", "-of", "csv=p=0"]
    assert subprocess.run([*frames, source], capture_output=True, text=True).stdout == \
        subprocess.run([*frames, tmp_path / "ada.mp4"], capture_output=True, text=True).stdout
    run = run_cli("fix", str(source), "--dry-run", "--no-loudness", "--format", "json")
    assert run.returncode == 0 and json.loads(run.stdout)["repairs"] == [], run.stderr


def _captioned_portrait(face: Path, out: Path) -> Path:
    """The fixture's face at 720 px with a name strip on a grey band under it: 720x860."""
    ffmpeg("-i", face, "-vf", f"scale=720:720,pad=720:860:0:0:0x606060,drawtext=fontfile={FONT}:text='Ada Lovelace, "
           "mathematician':fontcolor=white:fontsize=34:box=1:boxcolor=0x102a80:boxborderw=16:x=(w-tw)/2:y=h-th-40", out)
    return out


@pytest.mark.parametrize("suffix", [".jpg", ".png"])  # ffmpeg 5.1 would turn the JPEG by itself, not the PNG
def test_a_still_stored_turned_is_cropped_as_it_is_shown(fixture_path, tmp_path, suffix):
    # the crop's rectangle is in the picture as shown (upright): the photo's 512 px square above its grey band
    import numpy as np
    from PIL import Image

    from preflight.media import decode
    from preflight.media.repair import Edit, apply

    source = tmp_path / f"turned{suffix}"
    with Image.open(fixture_path("face_turned.jpg")) as stored:  # the same stored pixels and tag
        stored.save(source, exif=stored.getexif(), **({"quality": 95} if suffix == ".jpg" else {}))
    turned = probe(source)
    assert (turned.video.width, turned.video.height, turned.video.orientation) == (512, 640, 6)
    apply(turned, Edit(crop=(0, 0, 512, 512)), tmp_path / "ada.png")
    out = probe(tmp_path / "ada.png")
    assert (out.video.width, out.video.height, out.video.orientation) == (512, 512, 1)
    face = decode(probe(fixture_path("face.png")), sample_fps=1.0, with_audio=False).rgb[0].astype(np.int16)
    cropped = decode(out, sample_fps=1.0, with_audio=False).rgb[0].astype(np.int16)
    assert np.abs(cropped - face).mean() < 4.0  # the photo itself, up to the JPEG's loss


@pytest.mark.slow
def test_fix_crops_an_image_alone_and_writes_it_as_it_came(fixture_path, tmp_path):
    from preflight.fix import fix
    from conftest import run_cli

    source = _captioned_portrait(fixture_path("face.png"), tmp_path / "portrait.png")
    result = fix(source, output=tmp_path / "ada.png")
    assert result.image_only and result.window is None and result.go and result.output == str(tmp_path / "ada.png")
    (crop,) = result.repairs
    x, y, w, h = crop.rect
    assert crop.kind == "crop" and crop.file == str(source) and (x, y, w) == (0, 0, 720) and 720 <= h <= 860 - 80
    assert plan_file(probe(tmp_path / "ada.png"), Policy()).repairs == []  # fix on its own output changes nothing
    wrong = run_cli("fix", str(source), "-o", str(tmp_path / "ada.jpg"))
    assert wrong.returncode == 2 and "*.png" in wrong.stderr and not (tmp_path / "ada.jpg").exists()
    good = run_cli("fix", str(fixture_path("face.png")), "--dry-run")
    assert good.returncode == 1 and "nothing in it that a crop repairs" in good.stdout, good.stdout  # not a success


@pytest.mark.slow
def test_fix_crops_the_image_beside_a_voice_and_writes_both(fixture_path, tmp_path):
    from preflight.fix import fix

    portrait = _captioned_portrait(fixture_path("face.png"), tmp_path / "portrait.png")
    result = fix(image=portrait, audio=fixture_path("speech.wav"), output=tmp_path / "ada.wav")
    assert result.go and result.output == str(tmp_path / "ada.wav") and result.image_output == str(tmp_path / "ada.png")
    assert [(r.kind, r.file) for r in result.repairs] == [("crop", str(portrait))]
    assert {c.source for c in result.report.checks} == {str(tmp_path / "ada.wav"), str(tmp_path / "ada.png")}
    assert check(image=tmp_path / "ada.png", audio=tmp_path / "ada.wav").go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada.png", "ada.wav", "portrait.png"]


@pytest.mark.slow
def test_batch_fix_repairs_the_no_go_sets_a_crop_saves(fixture_path, tmp_path):
    from conftest import run_cli

    folder, fixed = tmp_path / "in", tmp_path / "fixed"
    folder.mkdir(), fixed.mkdir()
    # what batch does with a set fix repairs (a video's crop, on its own: test_a_corner_bug_is_cropped_out)
    _captioned_portrait(fixture_path("face.png"), folder / "ada.png")  # overlay fails: a caption strip
    (folder / "ada.wav").write_bytes(fixture_path("speech.wav").read_bytes())
    run = run_cli("batch", str(folder), "--fix", str(fixed), env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    assert run.returncode == 1, run.stderr  # the verdicts are the sources'
    assert "cut GO ada" in run.stdout and "ada.png)" in run.stdout, run.stdout
    assert sorted(p.name for p in fixed.iterdir()) == ["ada.png", "ada.wav", "fixes.jsonl"]
    (line,) = map(json.loads, (fixed / "fixes.jsonl").read_text().splitlines())
    assert line["set"] == "ada" and [r["kind"] for r in line["repairs"]] == ["crop"]
    assert check(image=fixed / "ada.png", audio=fixed / "ada.wav").go


@pytest.mark.slow
def test_the_fix_page_shows_each_repair_with_the_crop_drawn_before_and_after(fixture_path, tmp_path):
    import re

    from conftest import run_cli
    from test_html import _chromium

    source = _captioned_portrait(fixture_path("face.png"), tmp_path / "portrait.png")
    page = tmp_path / "page.html"
    run = run_cli("fix", str(source), "--dry-run", "--report", str(page), "--format", "json")
    assert run.returncode == 0, run.stderr
    (crop,) = json.loads(run.stdout)["repairs"]
    shown = _chromium(page, tmp_path, "--dump-dom")
    assert shown.returncode == 0 and 'data-ready="1"' in shown.stdout, shown.stderr[-2000:]
    assert "Uncaught" not in shown.stderr
    repair = re.search(r"<div class=\"repair\" data-kind=\"crop\">(.*?)</section>", shown.stdout, re.S)
    assert repair and crop["why"] in repair[1]
    assert repair[1].count("<img") == 2 and "the crop drawn" in repair[1] and ">after<" in repair[1]
    # the rectangle drawn on the source is the crop, as shares of the frame
    x, y, w, h = (float(v) for v in re.search(r"<rect x=\"([\d.]+)\" y=\"([\d.]+)\" width=\"([\d.]+)\" height=\"([\d.]+)\"",
                                               repair[1]).groups())
    (fw, fh), (cx, cy, cw, ch) = crop["frame"], crop["rect"]
    assert abs(x - cx / fw) < 0.01 and abs(y - cy / fh) < 0.01 and abs(w - cw / fw) < 0.01 and abs(h - ch / fh) < 0.01
