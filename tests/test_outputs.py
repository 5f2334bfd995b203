"""Output paths: never an input (by path, symbolic link or hard link), never two outputs in one
file, never a folder or a device where a file is replaced; temporaries unique to each run."""

from __future__ import annotations

import os

import pytest

from preflight import shutdown
from preflight.errors import UsageError
from preflight.outputs import discard, keep, refuse_unsafe, sibling, write_atomically


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"the user's recording")
    return path


def test_an_input_is_refused_by_its_path_a_link_to_it_or_a_hard_link(clip, tmp_path):
    (tmp_path / "soft.html").symlink_to(clip)
    os.link(clip, tmp_path / "hard.html")
    for named in (clip, tmp_path / "soft.html", tmp_path / "hard.html", tmp_path / "." / "v.mp4"):
        with pytest.raises(UsageError, match="names an input"):
            refuse_unsafe({"--report": named}, [clip])
    assert clip.read_bytes() == b"the user's recording"
    refuse_unsafe({"--report": tmp_path / "new.html"}, [clip])  # a new file is fine
    refuse_unsafe({"--report": None, "--jsonl": "-"}, [clip])  # none given, or stdout


def test_two_outputs_may_not_share_a_file(tmp_path):
    (tmp_path / "same.html").write_text("old")
    (tmp_path / "link.html").symlink_to(tmp_path / "same.html")
    with pytest.raises(UsageError, match="both -o and --report"):
        refuse_unsafe({"-o": tmp_path / "out.mp4", "--report": tmp_path / "out.mp4"}, [])
    with pytest.raises(UsageError, match="both --report and --jsonl"):
        refuse_unsafe({"--report": tmp_path / "same.html", "--jsonl": tmp_path / "link.html"}, [])


def test_a_folder_a_device_or_a_missing_folder_is_refused(tmp_path):
    (tmp_path / "dir.mp4").mkdir()
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="names a folder"):
        refuse_unsafe({"-o": tmp_path / "dir.mp4"}, [])
    with pytest.raises(UsageError, match="device, pipe or socket"):
        refuse_unsafe({"--report": "/dev/null"}, [])
    with pytest.raises(UsageError, match="does not exist"):
        refuse_unsafe({"--report": tmp_path / "nowhere" / "r.html"}, [])
    # an output written as it goes may be a pipe or a device
    refuse_unsafe({"--jsonl": tmp_path / "pipe"}, [], streamed={"--jsonl"})
    refuse_unsafe({"--jsonl": "/dev/null"}, [], streamed={"--jsonl"})


def test_each_run_gets_its_own_temporary_and_a_stop_would_delete_it(tmp_path):
    target = tmp_path / "ada.mp4"
    first, second = sibling(target), sibling(target)
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.startswith(".ada.") and first.suffix == ".mp4"
    assert first in shutdown._files and second in shutdown._files
    first.write_bytes(b"cut")
    keep(first, target)
    discard(second)
    assert target.read_bytes() == b"cut" and sorted(p.name for p in tmp_path.iterdir()) == ["ada.mp4"]
    assert first not in shutdown._files and second not in shutdown._files


def test_a_report_is_written_whole_or_not_at_all(tmp_path):
    target = tmp_path / "r.html"
    write_atomically(target, "<html>")
    assert target.read_text() == "<html>" and [p.name for p in tmp_path.iterdir()] == ["r.html"]
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(UsageError, match="cannot write"):
        write_atomically(tmp_path / "folder.html", "<html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.html", "r.html"]  # no temporary left
