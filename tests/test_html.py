"""The batch report in a real browser: headless Chromium (Debian's package) loads it without a
script error, runs its script, and a screenshot shows the summary tiles."""

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from preflight.batch import SourceSet, run
from preflight.html import render
from preflight.policy import Policy

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.slow  # a batch of four sets, then Chromium twice
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


@pytest.fixture(scope="module")
def page(tmp_path_factory, fixture_path):
    sets = [SourceSet("cut <b>&", video=str(fixture_path("cut.mp4"))),
            SourceSet("voice", image=str(fixture_path("face.png")), audio=str(fixture_path("speech_music.wav"))),
            SourceSet("good", video=str(fixture_path("talking_head.mp4"))),
            SourceSet("text", video=str(fixture_path("text.mp4")))]
    results = list(run(sets, Policy(), jobs=2))
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render(results, [], "clips"), encoding="utf-8")
    return path


def _chromium(page, tmp_path, *args):
    assert CHROMIUM, "chromium is not installed: `make test` installs it (apt-get install chromium)"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_the_page_loads_and_its_script_runs(page, tmp_path):
    shown = _chromium(page, tmp_path, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert 'data-ready="1"' in shown.stdout
    assert "Uncaught" not in shown.stderr and "CONSOLE" not in shown.stderr
    dom = shown.stdout
    assert "cut &lt;b&gt;&amp;" in dom  # names are escaped, not markup
    for words in ("scene_cuts", "music", "cuts: the frames on both sides", "not a readable video"):
        assert words in dom


def test_a_screenshot_shows_the_summary(page, tmp_path):
    shot = tmp_path / "shot.png"
    taken = _chromium(page, tmp_path, "--window-size=1280,900", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = cv2.imread(str(shot))
    top = image[:220]
    # the tiles' numbers: GO green (#1a7f37), NO-GO red (#cf222e), error purple (#8250df), in BGR
    for bgr in ((0x37, 0x7F, 0x1A), (0x2E, 0x22, 0xCF), (0xDF, 0x50, 0x82)):
        near = np.all(np.abs(top.astype(int) - bgr) < 40, axis=2)
        assert near.sum() > 50, f"no {bgr} in the summary"
    below = image[220:]
    assert len(np.unique(below.reshape(-1, 3), axis=0)) > 500  # the cards and their pictures drew
