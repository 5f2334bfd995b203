"""URL sources: fetched to a file, or refused with one clear error and nothing left behind."""

import pytest

from preflight.download import Limits, download
from preflight.errors import InputError

CAP = Limits(max_bytes=5_000_000, read_s=2.0, total_s=5.0)


def test_fetches_the_file_under_its_name(web, tmp_path, fixture_path):
    path = download(f"{web.url}/files/speech.wav", tmp_path, CAP)
    assert path.name == "speech.wav"
    assert path.read_bytes() == fixture_path("speech.wav").read_bytes()


def test_follows_a_redirect(web, tmp_path, fixture_path):
    path = download(f"{web.url}/moved/face.png", tmp_path, CAP)
    assert path.read_bytes() == fixture_path("face.png").read_bytes()


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ("/missing", "answered 404"),
        ("/page.html", "text/html, not a media file"),
        ("/huge", "10000 MB, over the 5 MB limit"),
        ("/endless", "passed the 5 MB limit"),
        ("/short", "download failed"),
        ("/stall", "did not answer in time"),
        ("/loop", "more than 5 redirects"),
    ],
)
def test_bad_links_fail_clearly_and_leave_nothing(web, tmp_path, route, says):
    with pytest.raises(InputError, match=says):
        download(f"{web.url}{route}", tmp_path, CAP)
    assert list(tmp_path.iterdir()) == []


def test_a_body_that_trickles_on_is_stopped_by_the_total_limit(web, tmp_path):
    with pytest.raises(InputError, match="took longer than 0.5 s"):
        download(f"{web.url}/endless", tmp_path, Limits(max_bytes=10**12, total_s=0.5))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["ftp://example.com/clip.mp4", "file:///etc/passwd"])
def test_only_http_and_https(tmp_path, url):
    with pytest.raises(InputError, match="only http and https"):
        download(url, tmp_path, CAP)


def test_nothing_listening(tmp_path):
    with pytest.raises(InputError, match="download failed"):
        download("http://127.0.0.1:9/clip.mp4", tmp_path, CAP)
