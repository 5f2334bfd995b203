"""The Mosaic client against the stand-in API: the upload three-step, retries and their bound,
final errors, time-outs, dropped connections, polling, and the key kept out of every message."""

import logging

import httpx
import pytest

from preflight.errors import AvatarFailed, MosaicError, UsageError
from preflight.media import Role
from preflight.mosaic import MosaicClient, Retry


@pytest.fixture
def client(mosaic_api):
    waits: list[float] = []
    with MosaicClient(mosaic_api.api_key, mosaic_api.url, timeout=httpx.Timeout(1.0), sleep=waits.append,
                      retry=Retry(attempts=3)) as c:
        c.waits = waits
        yield c


def test_upload_sends_the_fields_first_then_the_file_and_no_key_to_storage(client, mosaic_api, fixture_path):
    target = client.get_upload_url(Role.AUDIO)
    client.put_file(target, fixture_path("speech.wav"))
    client.finalize_upload(Role.AUDIO, target.asset_id)
    upload = mosaic_api.uploads[target.asset_id]
    assert upload.parts == [*target.fields, "file"]
    assert upload.size == fixture_path("speech.wav").stat().st_size and upload.finalized
    (stored,) = mosaic_api.calls("POST /storage/{id}")
    assert "authorization" not in stored.headers
    assert all(r.headers["authorization"] == f"Bearer {mosaic_api.api_key}"
               for r in mosaic_api.requests if r is not stored)


def test_a_file_over_the_announced_limit_is_not_sent(client, mosaic_api, fixture_path):
    mosaic_api.max_file_size = 1000
    target = client.get_upload_url(Role.AUDIO)
    with pytest.raises(MosaicError, match="at most 1000"):
        client.put_file(target, fixture_path("speech.wav"))
    assert mosaic_api.calls("POST /storage/{id}") == []


def test_429_is_retried_after_the_servers_retry_after(client, mosaic_api):
    mosaic_api.fault("GET /avatar-profiles", times=2, status=429, retry_after="7")
    assert client.list_avatars() == []
    assert len(mosaic_api.calls("GET /avatar-profiles")) == 3
    assert client.waits == [7.0, 7.0]


def test_retries_stop_at_their_bound(client, mosaic_api):
    mosaic_api.fault("GET /avatar-profiles", times=10, status=500)
    with pytest.raises(MosaicError, match=r"500 Internal Server Error.*gave up after 3 tries") as err:
        client.list_avatars()
    assert err.value.exit_code == 3
    assert len(mosaic_api.calls("GET /avatar-profiles")) == 3
    assert len(client.waits) == 2 and all(0 <= w <= 1.0 for w in client.waits)  # jittered, growing caps


def test_other_4xx_are_final_and_show_the_bodys_error(client, mosaic_api):
    with pytest.raises(MosaicError, match="404 Not Found: avatar not found") as err:
        client.get_avatar("00000000-0000-0000-0000-000000000000")
    assert err.value.status_code == 404 and client.waits == []


def test_a_wrong_key_is_a_final_401_that_points_at_the_key(mosaic_api):
    with MosaicClient("mk_wrong", mosaic_api.url) as c, pytest.raises(MosaicError, match="401.*MOSAIC_API_KEY"):
        c.list_avatars()


def test_a_proxys_error_page_is_not_pasted_into_the_error(client, mosaic_api):
    mosaic_api.fault("GET /avatar-profiles", times=10, status=502, html=True)
    with pytest.raises(MosaicError) as err:
        client.list_avatars()
    assert "502" in str(err.value) and "<html" not in str(err.value) and "web page" in str(err.value)


def test_a_malformed_retry_after_is_ignored(client, mosaic_api):
    # "soon" is neither seconds nor an HTTP date: ignored, not an internal error
    mosaic_api.fault("GET /avatar-profiles", times=1, status=503, retry_after="soon")
    assert client.list_avatars() == []
    assert len(client.waits) == 1 and client.waits[0] <= 1.0  # the usual back-off, not the header


def test_a_slow_answer_times_out_and_is_retried(client, mosaic_api):
    mosaic_api.fault("GET /avatar-profiles", times=1, delay=2.0)
    assert client.list_avatars() == []
    assert len(mosaic_api.calls("GET /avatar-profiles")) == 2


def test_a_dropped_connection_is_retried_for_a_read(client, mosaic_api):
    mosaic_api.fault("GET /avatar-profiles", times=2, drop="before")
    assert client.list_avatars() == []
    assert len(mosaic_api.calls("GET /avatar-profiles")) == 3


def test_create_is_not_repeated_once_it_may_have_arrived(client, mosaic_api):
    mosaic_api.fault("POST /avatar-profiles/create", times=1, drop="after")
    with pytest.raises(MosaicError, match="may or may not have been done"):
        client.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    assert len(mosaic_api.calls("POST /avatar-profiles/create")) == 1
    assert len(mosaic_api.avatars) == 1  # it was made: the gate looks for it (tests/test_submit.py)


def test_create_is_retried_on_429(client, mosaic_api):
    mosaic_api.fault("POST /avatar-profiles/create", times=1, status=429, retry_after="1")
    avatar = client.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    assert avatar.status == "pending" and len(mosaic_api.avatars) == 1


def test_nothing_listening_is_a_clear_error(tmp_path):
    with MosaicClient("mk_x", "http://127.0.0.1:9", retry=Retry(attempts=2), sleep=lambda s: None) as c:
        with pytest.raises(MosaicError, match="cannot connect.*gave up after 2 tries"):
            c.list_avatars()


def test_wait_returns_a_ready_avatar(client, mosaic_api):
    created = client.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    seen = []
    ready = client.wait(created.id, on_poll=lambda a: seen.append(a.status))
    assert ready.status == "ready" and ready.video_preview_url
    assert seen == ["processing", "ready"]


def test_wait_raises_when_the_avatar_fails(client, mosaic_api):
    mosaic_api.avatars_fail = True
    created = client.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    with pytest.raises(AvatarFailed, match="no face could be tracked") as err:
        client.wait(created.id)
    assert err.value.exit_code == 3


def test_wait_gives_up_at_its_timeout(client, mosaic_api):
    created = client.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    with pytest.raises(MosaicError, match="still processing after 0 s"):
        client.wait(created.id, timeout_s=0)


def test_processing_status_is_read_as_status(client):
    from preflight.mosaic import Avatar

    assert Avatar.model_validate({"id": "a", "processing_status": "ready"}).status == "ready"


def test_the_key_never_shows_in_errors_or_logs_even_when_the_server_echoes_it(mosaic_api, caplog):
    key = mosaic_api.api_key
    echo = "rejected credentials {authorization}"
    mosaic_api.fault("GET /avatar-profiles", times=1, status=503, error=echo)
    mosaic_api.fault("POST /avatar-profiles/create", times=1, status=403, error=echo)
    caplog.set_level(logging.DEBUG)
    with MosaicClient(key, mosaic_api.url, sleep=lambda s: None) as c:
        c.list_avatars()
        with pytest.raises(MosaicError, match="rejected credentials Bearer mk_\\*\\*\\*") as err:
            c.create_avatar("Ada", {"video_url": "https://example.com/a.mp4"})
    assert key not in str(err.value)
    assert "rejected credentials Bearer mk_***" in caplog.text and key not in caplog.text


@pytest.mark.parametrize("base", ["http://[::1", "ftp://example.com", "example.com"])
def test_a_bad_base_url_is_a_usage_error(monkeypatch, base):
    monkeypatch.setenv("MOSAIC_API_KEY", "mk_abc")
    monkeypatch.setenv("MOSAIC_BASE_URL", base)
    with pytest.raises(UsageError, match="MOSAIC_BASE_URL"):
        MosaicClient.from_env()


def test_the_key_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("MOSAIC_API_KEY", raising=False)
    with pytest.raises(UsageError, match="MOSAIC_API_KEY is not set"):
        MosaicClient.from_env()
    monkeypatch.setenv("MOSAIC_API_KEY", "mk_abc")
    monkeypatch.delenv("MOSAIC_BASE_URL", raising=False)
    with MosaicClient.from_env() as c:
        assert c.base_url == "https://api.mosaic.so"
