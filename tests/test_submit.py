"""The gate: NO-GO sends nothing; GO uploads and creates once; re-runs, crashes and lost answers
never make a second avatar.

Most tests submit reports checked once per session (``report_of``) through ``plan_checked`` to the
stand-in answering in this process (``httpx.MockTransport``); a few run ``create_avatar`` end to
end, checking the files, against the stand-in as a real HTTP server (``mosaic_api``)."""

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from conftest import FIXTURES
from preflight.errors import AvatarFailed, MosaicError, RejectedSources, UsageError
from preflight.ledger import Ledger, default_path
from preflight.media import Role
from preflight.mosaic import MosaicClient
from preflight.report import Report
from preflight.submit import Plan, create_avatar, plan_avatar, plan_checked, submit_plan
from standin import StandIn

VOICE = {"image": "face.png", "audio": "speech.wav"}
KEY = "mk_live_5ecret_do_not_show"


@dataclass
class Api:
    server: StandIn
    client: MosaicClient
    ledger: Ledger
    report_of: object

    def plan(self, name: str, **roles: str) -> Plan:
        """The plan for fixtures checked once per session: ``plan("Ada", image="face.png", ...)``."""
        report: Report = self.report_of(**roles)  # type: ignore[operator]
        return plan_checked(name, report, {role: str(FIXTURES / file) for role, file in roles.items()})

    def submit(self, name: str, *, new: bool = False, **roles: str):
        return submit_plan(self.plan(name, **roles), self.client, self.ledger, new=new)


@pytest.fixture
def api(tmp_path, monkeypatch, report_of):
    """The stand-in answering in this process, a client on it that does not sleep between
    retries, and a ledger (a real SQLite file) in a temporary PREFLIGHT_HOME."""
    monkeypatch.setenv("PREFLIGHT_HOME", str(tmp_path / "home"))
    server = StandIn(api_key=KEY)
    client = MosaicClient(KEY, server.url, transport=__import__("httpx").MockTransport(server.answer),
                          sleep=lambda seconds: None)
    with client, Ledger() as ledger:
        yield Api(server, client, ledger, report_of)
    server.close()


def _sources(fixture_path, **roles):
    return {role: str(fixture_path(name)) for role, name in roles.items()}


def _routes(lines: list[str]) -> list[str]:
    import re

    return [re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/{id}", " ".join(line.split()[:2]))
            for line in lines if "<signed" not in line]


# -- in process: checked reports, the stand-in through httpx.MockTransport -----------------------


def test_a_no_go_report_sends_no_request_at_all(api):
    with pytest.raises(RejectedSources) as err:
        api.submit("Ada", video="cut.mp4")
    assert err.value.exit_code == 1
    assert "scene_cuts" in {c.id for c in err.value.report.checks if c.status == "fail"}
    assert api.server.requests == []


def test_a_go_video_is_uploaded_then_created(api):
    avatar = api.submit("Ada", video="talking_head.mp4")
    (upload,) = api.server.uploads.values()
    assert upload.kind == "video" and upload.finalized
    assert api.server.avatars[avatar.id]["sources"] == {"video_id": next(iter(api.server.uploads))}
    assert avatar.name == "Ada" and avatar.status == "pending"


def test_the_same_media_and_name_make_no_second_avatar(api):
    first = api.submit("Ada", **VOICE)
    again = api.submit("Ada", **VOICE)
    assert again.id == first.id
    assert sorted(api.server.avatars[first.id]["sources"]) == ["audio_id", "image_id"]
    assert sorted(u.kind for u in api.server.uploads.values()) == ["audio", "image"]
    assert len(api.server.avatars) == 1 and len(api.server.uploads) == 2
    assert len(api.server.calls("POST /avatar-profiles/create")) == 1


def test_a_photo_stored_turned_is_sent_upright_as_checked_and_an_upright_one_as_it_is(api, fixture_path):
    # a phone's portrait stored on its side with EXIF orientation 6: a reader that ignores the tag
    # would see a face on its side, so the upload is the upright picture the check judged, untagged
    turned = {"image": "face_turned.jpg", "audio": "speech.wav"}
    assert "an upright copy" in api.plan("Ada", **turned).requests()[1]
    api.submit("Ada", **turned)
    api.submit("Ada", new=True, **turned)  # the copy's upload is reused, keyed by the checked bytes
    (image,) = [u for u in api.server.uploads.values() if u.kind == "image"]
    with Image.open(io.BytesIO(image.content)) as sent, Image.open(fixture_path("face_turned.jpg")) as stored:
        assert stored.size == (640, 512) and sent.size == (512, 640)
        assert sent.getexif().get(0x0112, 1) == 1
        shown = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"), float)
        assert np.abs(np.asarray(sent.convert("RGB"), float) - shown).mean() < 3  # the same picture, re-encoded
    api.submit("Grace", **VOICE)
    (plain,) = [u for u in api.server.uploads.values() if u.kind == "image" and u is not image]
    assert plain.content == fixture_path("face.png").read_bytes()
    assert "upright" not in " ".join(api.plan("Grace", **VOICE).requests())


def test_a_photo_stored_turned_behind_a_url_is_uploaded_upright_only_when_its_bytes_are_the_checked_ones(api, web):
    # a URL is sent as its URL, except a still its check found stored turned: that one is
    # downloaded again and, when its bytes are the ones checked, uploaded as the upright copy
    def plan(name, checked, served):
        report = api.report_of(image=checked, audio="speech.wav")
        return plan_checked(name, report, {"image": f"{web.url}/files/{served}", "audio": str(FIXTURES / "speech.wav")})

    # another file behind the URL than the one checked: nothing of it goes up, and no avatar
    with pytest.raises(UsageError, match="its bytes changed after it was checked; nothing was uploaded"):
        submit_plan(plan("Bo", "face_turned.jpg", "face.png"), api.client, api.ledger)
    assert api.server.uploads == {} and api.server.avatars == {}
    turned = plan("Ada", "face_turned.jpg", "face_turned.jpg")
    steps = turned.requests()
    assert steps[0] == f"GET {web.url}/files/face_turned.jpg  (again: it is sent only if its bytes are the ones checked)"
    assert "an upright copy" in steps[2]
    avatar = submit_plan(turned, api.client, api.ledger)
    (image,) = [u for u in api.server.uploads.values() if u.kind == "image"]
    assert set(api.server.avatars[avatar.id]["sources"]) == {"image_id", "audio_id"}
    with Image.open(io.BytesIO(image.content)) as sent:
        assert sent.size == (512, 640) and sent.getexif().get(0x0112, 1) == 1
    fetched = web.hits.count("/files/face_turned.jpg")
    submit_plan(plan("Ada", "face_turned.jpg", "face_turned.jpg"), api.client, api.ledger, new=True)
    assert web.hits.count("/files/face_turned.jpg") == fetched and len(api.server.uploads) == 2  # the upload reused
    # a still stored as shown stays a URL
    upright = submit_plan(plan("Cy", "face.png", "face.png"), api.client, api.ledger)
    assert api.server.avatars[upright.id]["sources"]["image_url"] == f"{web.url}/files/face.png"


def test_new_or_another_name_creates_another_and_reuses_the_uploads(api):
    first = api.submit("Ada", **VOICE)
    forced = api.submit("Ada", new=True, **VOICE)
    other = api.submit("Grace", **VOICE)
    assert len({first.id, forced.id, other.id}) == 3
    assert len(api.server.uploads) == 2 and len(api.server.calls("POST /storage/{id}")) == 2


def test_asset_ids_are_sent_only_on_trust(api, fixture_path):
    target = api.client.get_upload_url(Role.VIDEO)
    api.client.put_file(target, fixture_path("talking_head.mp4"))
    api.client.finalize_upload(Role.VIDEO, target.asset_id)
    before = len(api.server.requests)
    with pytest.raises(RejectedSources, match="--trust-asset-ids") as err:
        create_avatar("Ada", video_id=target.asset_id, client=api.client, ledger=api.ledger)
    assert [c.status for c in err.value.report.checks if c.id == "asset_id"] == ["skipped"]
    assert len(api.server.requests) == before
    avatar = create_avatar("Ada", video_id=target.asset_id, trust_asset_ids=True, client=api.client, ledger=api.ledger)
    assert api.server.avatars[avatar.id]["sources"] == {"video_id": target.asset_id}


def test_dry_run_sends_nothing_and_lists_the_requests(api):
    plan = api.plan("Ada", **VOICE)
    assert plan.report.go
    assert [r.split()[1] for r in plan.requests()] == [
        "/uploads/image/get_upload_url", "<signed", "/uploads/image/finalize_upload",
        "/uploads/audio/get_upload_url", "<signed", "/uploads/audio/finalize_upload", "/avatar-profiles",
        "/avatar-profiles/create"]
    assert api.server.requests == []


def test_dry_run_leaves_out_what_the_ledger_holds(api):
    made = api.submit("Ada", **VOICE)
    url = api.client.base_url
    same = api.plan("Ada", **VOICE).requests(api.ledger, url)
    other = api.plan("Grace", **VOICE).requests(api.ledger, url)
    elsewhere = api.plan("Ada", **VOICE).requests(api.ledger, "https://api.mosaic.so")
    again = api.plan("Ada", **VOICE).requests(api.ledger, url, new=True)
    # --new: a second avatar from the uploads the ledger holds
    assert _routes(again) == ["GET /avatar-profiles", "POST /avatar-profiles/create"]
    assert same == [f"GET /avatar-profiles/{made.id}  (made earlier from these sources; --new creates another)"]
    sent = api.server.avatars[made.id]["sources"]
    assert [r.split()[1] for r in other] == ["/avatar-profiles", "/avatar-profiles/create"]
    assert json.loads(other[-1].split("  ", 1)[1]) == {"name": "Grace", "sources": sent}
    assert len(elsewhere) == 8  # another API: nothing known there


def test_the_dry_run_lists_what_the_real_run_sends_after_an_interrupted_upload(api):
    # an upload the ledger holds as stored but not finalized: the dry run and the real run take
    # the same decisions from it (one finalize, no new upload URL)
    api.server.fault("POST /uploads/image/finalize_upload", times=20, status=500)
    with pytest.raises(MosaicError):
        api.submit("Ada", **VOICE)
    api.server.faults.clear()
    listed = api.plan("Ada", **VOICE).requests(api.ledger, api.client.base_url)
    since = len(api.server.requests)
    api.submit("Ada", **VOICE)
    sent = [r.route for r in api.server.requests[since:] if not r.path.startswith("/storage/")]
    assert _routes(listed) == sent
    assert sent.count("POST /uploads/image/finalize_upload") == 1 and "POST /uploads/image/get_upload_url" not in sent


def test_a_failed_finalize_is_forgotten_and_the_next_run_uploads_again(api):
    api.server.fault("POST /uploads/image/finalize_upload", times=1, status=404)
    with pytest.raises(MosaicError, match="404"):
        api.submit("Ada", **VOICE)
    assert api.server.avatars == {}
    api.submit("Ada", **VOICE)
    assert len(api.server.avatars) == 1
    assert len(api.server.calls("POST /uploads/image/get_upload_url")) == 2


def test_a_create_whose_answer_is_lost_is_found_not_repeated(api):
    api.server.fault("POST /avatar-profiles/create", times=1, drop="after")
    avatar = api.submit("Ada", **VOICE)
    assert list(api.server.avatars) == [avatar.id]
    assert api.submit("Ada", **VOICE).id == avatar.id
    assert len(api.server.calls("POST /avatar-profiles/create")) == 1


def test_an_avatar_of_the_same_name_made_elsewhere_is_not_taken_for_ours(api):
    theirs = api.client.create_avatar("Ada", {"video_url": "https://example.com/other.mp4"})
    ours = api.submit("Ada", **VOICE)
    assert ours.id != theirs.id and len(api.server.avatars) == 2


def test_a_failed_avatar_is_an_error_with_its_message_also_when_met_again(api, fixture_path):
    api.server.avatars_fail = True
    voice = dict(client=api.client, ledger=api.ledger, **_sources(fixture_path, **VOICE))
    with pytest.raises(AvatarFailed, match="no face could be tracked"):
        create_avatar("Ada", wait=True, **voice)
    with pytest.raises(AvatarFailed, match="no face could be tracked.*pass --new"):
        create_avatar("Ada", **voice)
    assert len(api.server.avatars) == 1
    api.server.avatars_fail = False
    assert create_avatar("Ada", new=True, wait=True, **voice).status == "ready"


def test_a_file_that_changes_after_its_check_is_not_uploaded(api, fixture_path, tmp_path):
    from preflight.errors import UsageError

    image = tmp_path / "face.png"
    image.write_bytes(fixture_path("face.png").read_bytes())
    plan = plan_avatar("Ada", image=str(image), audio=str(fixture_path("speech.wav")))
    with image.open("ab") as f:
        f.write(b"swapped after the check")
    with pytest.raises(UsageError, match="changed after it was checked"):
        submit_plan(plan, api.client, api.ledger)
    assert api.server.calls("POST /storage/{id}") == [] and api.server.avatars == {}


# -- end to end: the files checked, the stand-in as a real HTTP server ---------------------------


def test_image_and_voice_are_checked_uploaded_and_created_once(mosaic_api, fixture_path):
    avatar = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert sorted(mosaic_api.avatars[avatar.id]["sources"]) == ["audio_id", "image_id"]
    assert sorted(u.kind for u in mosaic_api.uploads.values()) == ["audio", "image"]
    again = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert again.id == avatar.id and len(mosaic_api.avatars) == 1
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == 1


@pytest.mark.slow
def test_a_url_source_is_checked_then_sent_as_its_url(mosaic_api, web):
    url = f"{web.url}/files/talking_head.mp4"
    avatar = create_avatar("Ada", video=url)
    assert "/files/talking_head.mp4" in web.hits
    assert mosaic_api.avatars[avatar.id]["sources"] == {"video_url": url}
    assert mosaic_api.uploads == {}


def test_a_bad_url_sends_nothing(mosaic_api, web):
    from preflight.errors import InputError

    with pytest.raises(InputError, match="404"):
        create_avatar("Ada", video=f"{web.url}/missing")
    assert mosaic_api.requests == []


def test_wait_follows_the_avatar_to_ready_and_the_ledger_records_it_without_the_key(mosaic_api, fixture_path):
    avatar = create_avatar("Ada", wait=True, **_sources(fixture_path, **VOICE))
    assert avatar.status == "ready"
    with sqlite3.connect(default_path()) as db:
        assert db.execute("SELECT avatar_id, status FROM avatars").fetchall() == [(avatar.id, "ready")]
        assert db.execute("SELECT count(*) FROM uploads WHERE state = 'final'").fetchone() == (2,)
    assert all(mosaic_api.api_key.encode() not in f.read_bytes() for f in default_path().parent.iterdir())


def test_the_same_bytes_from_a_url_are_the_same_media(mosaic_api, web, fixture_path):
    first = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    again = create_avatar("Ada", image=f"{web.url}/files/face.png", audio=str(fixture_path("speech.wav")))
    assert again.id == first.id and len(mosaic_api.avatars) == 1


@pytest.mark.console
@pytest.mark.parametrize("server_made_it", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_process_killed_during_create_is_resumed_without_a_second_avatar(mosaic_api, fixture_path, report_of,
                                                                          server_made_it):
    """kill -9 while the create request is in flight, before or after the server made the avatar."""
    release = threading.Event()
    hang = mosaic_api.fault("POST /avatar-profiles/create", hold=release, drop="after" if server_made_it else "before")
    args = ["create", "--name", "Ada", "--image", str(fixture_path("face.png")), "--audio", str(fixture_path("speech.wav"))]
    child = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), *args], env=dict(os.environ),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert hang.arrived.wait(120), "the create request never came"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    uploads = len(mosaic_api.calls("POST /storage/{id}"))
    assert uploads == 2
    deadline = time.monotonic() + 10
    while len(mosaic_api.avatars) < server_made_it and time.monotonic() < deadline:
        time.sleep(0.05)  # the held request goes on in the server after the client died
    assert len(mosaic_api.avatars) == int(server_made_it)

    # resumed from the ledger the killed process left, with the same media checked in this one
    plan = plan_checked("Ada", report_of(**VOICE), _sources(fixture_path, **VOICE))
    with MosaicClient.from_env() as client, Ledger() as ledger:
        avatar = submit_plan(plan, client, ledger)
    assert list(mosaic_api.avatars) == [avatar.id]
    assert len(mosaic_api.calls("POST /storage/{id}")) == uploads  # the uploads were reused
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == (1 if server_made_it else 2)
