"""Source sets: roles named or inferred, one of each; URLs fetched for the check."""

import hashlib
from pathlib import Path

import pytest

import preflight
from preflight.errors import UsageError
from preflight.media import Role
from preflight.sources import Sources, local_copies, source_set


def test_inferred_roles(fixture_path):
    probes = source_set(Sources((fixture_path("face.png"), fixture_path("speech.wav"))))
    assert [p.role for p in probes] == [Role.IMAGE, Role.AUDIO]


def test_a_video_can_be_the_voice(fixture_path):
    (voice,) = source_set(Sources(audio=fixture_path("talking_head.mp4")))
    assert voice.role is Role.AUDIO


def test_role_must_fit(fixture_path):
    with pytest.raises(UsageError, match="given as the video"):
        source_set(Sources(video=fixture_path("face.png")))


def test_one_of_each_role(fixture_path):
    with pytest.raises(UsageError, match="one of each role"):
        source_set(Sources((fixture_path("speech.wav"),), audio=fixture_path("silence.wav")))


def test_an_error_names_a_source_by_its_label(fixture_path, tmp_path):
    # a source is named when it is probed: its errors carry the label, never the path read
    from preflight.errors import InputError

    missing = tmp_path / "copy-7f3a.mp4"
    with pytest.raises(InputError, match=r"^ada\.mp4: no such file$"):
        source_set(Sources(video=missing), {str(missing): "ada.mp4"})
    face = fixture_path("face.png")
    with pytest.raises(UsageError, match=r"^portrait\.png: given as the video"):
        source_set(Sources(video=face), {str(face): "portrait.png"})
    speech = fixture_path("speech.wav")
    with pytest.raises(UsageError, match=r"\(two\.wav, one\.wav\)"):
        source_set(Sources((speech,), audio=fixture_path("silence.wav")),
                   {str(speech): "one.wav", str(fixture_path("silence.wav")): "two.wav"})


def test_nothing_given():
    with pytest.raises(UsageError):
        source_set(Sources())


def test_urls_are_downloaded_for_the_block_and_deleted_after(web):
    with local_copies(Sources((f"{web.url}/files/speech.wav",), image=f"{web.url}/files/face.png")) as local:
        (audio,) = local.sources.files
        assert [p.role for p in source_set(local.sources)] == [Role.IMAGE, Role.AUDIO]
        assert local.origin[str(audio)] == f"{web.url}/files/speech.wav"
    assert not Path(audio).exists() and not Path(local.sources.image).exists()


def test_a_checked_url_is_named_by_its_url_in_the_report(web):
    url = f"{web.url}/files/speech.wav"
    report = preflight.check(url)
    assert [s.path for s in report.sources] == [url]
    assert report.sources[0].sha256 == hashlib.sha256((web.folder / "speech.wav").read_bytes()).hexdigest()
    assert {c.source for c in report.checks} == {url}


def test_a_source_is_named_once_as_it_is_probed(fixture_path, web):
    # the label is settled with the role: every check, picture and the report carry it as made
    from preflight.pipeline import inspect

    image, voice = fixture_path("face.png"), fixture_path("speech.wav")
    (probe,) = source_set(Sources((image,)), {str(image): "ada.png"})
    assert (probe.source.label, probe.source.path, probe.source.role) == ("ada.png", Path(image), Role.IMAGE)
    labels = {str(image): "ada.png", str(voice): "ada.wav"}
    report, pictures = inspect(Sources(image=image, audio=voice), labels=labels, name="ada")
    assert report.name == "ada" and [s.path for s in report.sources] == ["ada.png", "ada.wav"]
    assert {c.source for c in report.checks} == {"ada.png", "ada.wav"}
    assert sorted(e.source for e in pictures) == ["ada.png", "ada.wav"]
    url = f"{web.url}/files/speech.wav"  # a URL's label is its URL, unless one is given for it
    assert [e.source for e in inspect(Sources(audio=url))[1]] == [url]
    assert [s.path for s in inspect(Sources(audio=url), labels={url: "voice.wav"})[0].sources] == ["voice.wav"]


def test_local_files_pass_through_untouched(fixture_path):
    given = Sources((fixture_path("speech.wav"),))
    with local_copies(given) as local:
        assert local.sources == given and local.origin == {}


def test_an_error_about_a_downloaded_file_names_its_url_not_the_temporary_path(web):
    import preflight
    from preflight.errors import InputError

    url = f"{web.url}/files/text.mp4"  # served as video/mp4, holds text
    with pytest.raises(InputError) as raised:
        preflight.check(url)
    assert str(raised.value).startswith(f"{url}: not a readable") and "preflight-" not in str(raised.value)
