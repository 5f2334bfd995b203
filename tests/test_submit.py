"""The gate against the stand-in API: NO-GO sends nothing; GO uploads and creates once; re-runs,
crashes and lost answers never make a second avatar."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from preflight.errors import AvatarFailed, MosaicError, RejectedSources
from preflight.ledger import default_path
from preflight.media import Role
from preflight.mosaic import MosaicClient
from preflight.download import is_url
from preflight.policy import Policy
from preflight.submit import create_avatar, plan_avatar

VOICE = {"image": "face.png", "audio": "speech.wav"}


@pytest.fixture(scope="module", autouse=True)
def _each_source_set_checked_once():
    """The gate's check of local files, run once per set of bytes and policy for the module: these
    tests are about what is sent, and most check the same image and voice (30 checks of 5 sets).
    The key holds each file's sha256, so a file changed after its check is checked again; sets with
    URLs are always checked."""
    import preflight.submit
    from preflight.sources import sha256_of

    real, done = preflight.submit.inspect, {}

    def inspect(sources, *, policy=None, evidence=True, **kwargs):
        if kwargs or any(is_url(str(p)) for p in (*sources.files, *sources.named.values())):
            return real(sources, policy=policy, evidence=evidence, **kwargs)
        key = (tuple((str(p), sha256_of(p)) for p in sources.files),
               tuple((role.value, str(p), sha256_of(p)) for role, p in sources.named.items()),
               (policy or Policy()).model_dump_json(), evidence)
        if key not in done:
            done[key] = real(sources, policy=policy, evidence=evidence)
        report, pictures = done[key]
        return report.model_copy(deep=True), list(pictures)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(preflight.submit, "inspect", inspect)
        yield


def _sources(fixture_path, **roles):
    return {role: str(fixture_path(name)) for role, name in roles.items()}


def test_a_no_go_source_sends_no_request_at_all(mosaic_api, fixture_path):
    with pytest.raises(RejectedSources) as err:
        create_avatar("Ada", **_sources(fixture_path, video="cut.mp4"))
    assert err.value.exit_code == 1
    assert "scene_cuts" in {c.id for c in err.value.report.checks if c.status == "fail"}
    assert mosaic_api.requests == []


def test_a_go_video_is_uploaded_then_created(mosaic_api, fixture_path):
    avatar = create_avatar("Ada", **_sources(fixture_path, video="talking_head.mp4"))
    (upload,) = mosaic_api.uploads.values()
    assert upload.kind == "video" and upload.finalized
    assert mosaic_api.avatars[avatar.id]["sources"] == {"video_id": next(iter(mosaic_api.uploads))}
    assert avatar.name == "Ada" and avatar.status == "pending"


def test_image_and_voice_are_uploaded_and_sent_together(mosaic_api, fixture_path):
    avatar = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert sorted(mosaic_api.avatars[avatar.id]["sources"]) == ["audio_id", "image_id"]
    assert sorted(u.kind for u in mosaic_api.uploads.values()) == ["audio", "image"]


def test_the_same_media_and_name_make_no_second_avatar(mosaic_api, fixture_path):
    first = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    again = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert again.id == first.id
    assert len(mosaic_api.avatars) == 1 and len(mosaic_api.uploads) == 2
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == 1


def test_new_or_another_name_creates_another_and_reuses_the_uploads(mosaic_api, fixture_path):
    first = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    forced = create_avatar("Ada", new=True, **_sources(fixture_path, **VOICE))
    other = create_avatar("Grace", **_sources(fixture_path, **VOICE))
    assert len({first.id, forced.id, other.id}) == 3
    assert len(mosaic_api.uploads) == 2 and len(mosaic_api.calls("POST /storage/{id}")) == 2


def test_a_url_source_is_checked_then_sent_as_its_url(mosaic_api, web, fixture_path):
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


def test_asset_ids_are_sent_only_on_trust(mosaic_api, fixture_path):
    with MosaicClient.from_env() as c:
        target = c.get_upload_url(Role.VIDEO)
        c.put_file(target, fixture_path("talking_head.mp4"))
        c.finalize_upload(Role.VIDEO, target.asset_id)
    before = len(mosaic_api.requests)
    with pytest.raises(RejectedSources, match="--trust-asset-ids") as err:
        create_avatar("Ada", video_id=target.asset_id)
    assert [c.status for c in err.value.report.checks if c.id == "asset_id"] == ["skipped"]
    assert len(mosaic_api.requests) == before
    avatar = create_avatar("Ada", video_id=target.asset_id, trust_asset_ids=True)
    assert mosaic_api.avatars[avatar.id]["sources"] == {"video_id": target.asset_id}


def test_dry_run_sends_nothing_and_lists_the_requests(mosaic_api, fixture_path):
    plan = plan_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert plan.report.go and mosaic_api.requests == []
    assert [r.split()[1] for r in plan.requests()] == [
        "/uploads/image/get_upload_url", "<signed", "/uploads/image/finalize_upload",
        "/uploads/audio/get_upload_url", "<signed", "/uploads/audio/finalize_upload", "/avatar-profiles",
        "/avatar-profiles/create"]


def test_dry_run_leaves_out_what_the_ledger_holds(mosaic_api, fixture_path):
    from preflight.ledger import Ledger

    made = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    with Ledger() as ledger:
        same = plan_avatar("Ada", **_sources(fixture_path, **VOICE)).requests(ledger, mosaic_api.url)
        other = plan_avatar("Grace", **_sources(fixture_path, **VOICE)).requests(ledger, mosaic_api.url)
        elsewhere = plan_avatar("Ada", **_sources(fixture_path, **VOICE)).requests(ledger, "https://api.mosaic.so")
        again = plan_avatar("Ada", **_sources(fixture_path, **VOICE)).requests(ledger, mosaic_api.url, new=True)
    # --new: a second avatar from the uploads the ledger holds (on main the dry run ignored --new)
    assert _routes(again) == ["GET /avatar-profiles", "POST /avatar-profiles/create"]
    assert same == [f"GET /avatar-profiles/{made.id}  (made earlier from these sources; --new creates another)"]
    sent = mosaic_api.avatars[made.id]["sources"]
    assert [r.split()[1] for r in other] == ["/avatar-profiles", "/avatar-profiles/create"]
    assert json.loads(other[-1].split("  ", 1)[1]) == {"name": "Grace", "sources": sent}
    assert len(elsewhere) == 8  # another API: nothing known there


def _routes(lines: list[str]) -> list[str]:
    import re

    return [re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/{id}", " ".join(line.split()[:2]))
            for line in lines if "<signed" not in line]


def test_the_dry_run_lists_what_the_real_run_sends_after_an_interrupted_upload(mosaic_api, fixture_path):
    # on main, for an upload the ledger held as stored but not finalized, the dry run listed three
    # requests and the real run sent one: the two held copies of the same decisions
    from preflight.ledger import Ledger

    mosaic_api.fault("POST /uploads/image/finalize_upload", times=20, status=500)
    with pytest.raises(MosaicError):
        create_avatar("Ada", **_sources(fixture_path, **VOICE))
    mosaic_api.faults.clear()
    with Ledger() as ledger:
        listed = plan_avatar("Ada", **_sources(fixture_path, **VOICE)).requests(ledger, mosaic_api.url)
    since = len(mosaic_api.requests)
    create_avatar("Ada", **_sources(fixture_path, **VOICE))
    sent = [r.route for r in mosaic_api.requests[since:] if not r.path.startswith("/storage/")]
    assert _routes(listed) == sent
    assert sent.count("POST /uploads/image/finalize_upload") == 1 and "POST /uploads/image/get_upload_url" not in sent


def test_a_failed_finalize_is_forgotten_and_the_next_run_uploads_again(mosaic_api, fixture_path):
    mosaic_api.fault("POST /uploads/image/finalize_upload", times=1, status=404)
    with pytest.raises(MosaicError, match="404"):
        create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert mosaic_api.avatars == {}
    create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert len(mosaic_api.avatars) == 1
    assert len(mosaic_api.calls("POST /uploads/image/get_upload_url")) == 2


def test_a_create_whose_answer_is_lost_is_found_not_repeated(mosaic_api, fixture_path):
    mosaic_api.fault("POST /avatar-profiles/create", times=1, drop="after")
    avatar = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert list(mosaic_api.avatars) == [avatar.id]
    assert create_avatar("Ada", **_sources(fixture_path, **VOICE)).id == avatar.id
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == 1


def test_an_avatar_of_the_same_name_made_elsewhere_is_not_taken_for_ours(mosaic_api, fixture_path):
    with MosaicClient.from_env() as c:
        theirs = c.create_avatar("Ada", {"video_url": "https://example.com/other.mp4"})
    ours = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert ours.id != theirs.id and len(mosaic_api.avatars) == 2


@pytest.mark.parametrize("server_made_it", [False, True])
def test_a_process_killed_during_create_is_resumed_without_a_second_avatar(mosaic_api, fixture_path, server_made_it):
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

    avatar = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert list(mosaic_api.avatars) == [avatar.id]
    assert len(mosaic_api.calls("POST /storage/{id}")) == uploads  # the uploads were reused
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == (1 if server_made_it else 2)


def test_wait_follows_the_avatar_to_ready_and_the_ledger_records_it_without_the_key(mosaic_api, fixture_path):
    avatar = create_avatar("Ada", wait=True, **_sources(fixture_path, **VOICE))
    assert avatar.status == "ready"
    with sqlite3.connect(default_path()) as db:
        assert db.execute("SELECT avatar_id, status FROM avatars").fetchall() == [(avatar.id, "ready")]
        assert db.execute("SELECT count(*) FROM uploads WHERE state = 'final'").fetchone() == (2,)
    assert all(mosaic_api.api_key.encode() not in f.read_bytes() for f in default_path().parent.iterdir())


def test_a_failed_avatar_is_an_error_with_its_message_also_when_met_again(mosaic_api, fixture_path):
    mosaic_api.avatars_fail = True
    with pytest.raises(AvatarFailed, match="no face could be tracked"):
        create_avatar("Ada", wait=True, **_sources(fixture_path, **VOICE))
    with pytest.raises(AvatarFailed, match="no face could be tracked.*pass --new"):
        create_avatar("Ada", **_sources(fixture_path, **VOICE))
    assert len(mosaic_api.avatars) == 1
    mosaic_api.avatars_fail = False
    assert create_avatar("Ada", new=True, wait=True, **_sources(fixture_path, **VOICE)).status == "ready"


def test_a_file_that_changes_after_its_check_is_not_uploaded(mosaic_api, fixture_path, tmp_path):
    from preflight.errors import UsageError
    from preflight.ledger import Ledger
    from preflight.submit import submit_plan

    image = tmp_path / "face.png"
    image.write_bytes(fixture_path("face.png").read_bytes())
    plan = plan_avatar("Ada", image=str(image), audio=str(fixture_path("speech.wav")))
    with image.open("ab") as f:
        f.write(b"swapped after the check")
    with MosaicClient.from_env() as client, Ledger() as ledger, pytest.raises(UsageError, match="changed after it was checked"):
        submit_plan(plan, client, ledger)
    assert mosaic_api.calls("POST /storage/{id}") == [] and mosaic_api.avatars == {}


def test_the_same_bytes_from_a_url_are_the_same_media(mosaic_api, web, fixture_path):
    first = create_avatar("Ada", **_sources(fixture_path, **VOICE))
    again = create_avatar("Ada", image=f"{web.url}/files/face.png", audio=str(fixture_path("speech.wav")))
    assert again.id == first.id and len(mosaic_api.avatars) == 1
