"""The ledger: a real SQLite file, where PREFLIGHT_HOME says, that outlives the process."""

import pytest

from preflight.errors import UsageError
from preflight.ledger import Ledger, default_path


def test_it_lives_under_preflight_home(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFLIGHT_HOME", str(tmp_path / "h"))
    assert default_path() == tmp_path / "h" / "ledger.sqlite"
    with Ledger() as ledger:
        ledger.record_upload("https://api", "video", "ab" * 32, "asset-1", "stored")
    assert (tmp_path / "h" / "ledger.sqlite").is_file()


def test_what_is_written_is_there_after_reopening(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.record_upload("https://api", "video", "ab" * 32, "asset-1", "final")
        row = ledger.begin_create("https://api", "k", "Ada", {"video_id": "asset-1"}, ["older"])
    with Ledger(path) as ledger:
        assert ledger.upload("https://api", "video", "ab" * 32).asset_id == "asset-1"
        assert ledger.upload("http://127.0.0.1:1", "video", "ab" * 32) is None  # another API, another world
        pending = ledger.avatar("https://api", "k")
        assert (pending.row, pending.avatar_id, pending.names_before) == (row, None, ["older"])
        ledger.finish_create(row, "av-1", "pending", None)
        ledger.set_status("https://api", "av-1", "ready", None)
        assert ledger.avatar("https://api", "k").status == "ready"
        assert ledger.known_ids("https://api") == {"av-1"}


def test_an_unwritable_home_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="PREFLIGHT_HOME"):
        Ledger(blocker / "ledger.sqlite")
