"""The server's checks: their records, the bounded queue, and the one thread that feeds the
batch's worker pool (the pool is not thread-safe, so only that thread touches it).

A check is ``queued`` from its submission until a worker takes it, ``running`` on the worker,
then ``done`` (a report) or ``error`` (the check could not run: a crash, the time limit, a file
that is not media). Finished records are written to ``<data>/<id>.json`` and read back when the
server starts, so reports outlive the process; uploaded files do not (see :class:`Checks`).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from preflight.batch import Pool, Result, SourceSet, finish, prepare
from preflight.batch.pool import Failed
from preflight.download import is_url
from preflight.errors import UsageError
from preflight.evidence import Evidence
from preflight.ledger import Ledger
from preflight.media import Role
from preflight.policy import Policy
from preflight.report import Outcome, Report

log = logging.getLogger("preflight.serve")

_ID = re.compile(r"[0-9a-f]{32}")
RECENT = 200  # records kept in memory and read back at start
KEEP_GO_S = 3600.0  # how long a GO check's upload waits for its create


class CheckStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"


class Problem(BaseModel):
    """An error as the API answers it: a stable reason code and words for people."""

    reason: str
    message: str


class CheckRecord(BaseModel):
    """One check as the API shows it. ``report`` follows the schema of ``check --format json``."""

    id: str
    status: CheckStatus
    created: AwareDatetime = Field(description="when it was submitted: an RFC 3339 time in UTC")
    sources: dict[str, str] = Field(description="role -> the file's name as uploaded, or the URL")
    outcome: Outcome | None = Field(None, description="go, warn, no-go or error, once known")
    cached: bool = Field(False, description="the same bytes were checked before: the ledger's result")
    seconds: float | None = Field(None, description="the check's wall time on its worker")
    report: Report | None = None
    error: Problem | None = None
    avatar: dict[str, Any] | None = Field(None, description="the avatar created from this check, as last seen")
    evidence: list[Evidence] = Field(default_factory=list, exclude=True)  # for report.html only

    @field_validator("created", mode="before")
    @classmethod
    def _from_unix_time(cls, value: Any) -> Any:
        # records written before the time was RFC 3339 hold Unix seconds
        return datetime.fromtimestamp(value, timezone.utc) if isinstance(value, (int, float)) else value

    @property
    def finished(self) -> bool:
        return self.status in (CheckStatus.DONE, CheckStatus.ERROR)


class QueueFull(Exception):
    """Every queue slot is taken; ``retry_after`` is a guess of when one frees up, in seconds."""

    def __init__(self, size: int, retry_after: int) -> None:
        super().__init__(f"all {size} places in the queue are taken; retry in {retry_after} s")
        self.retry_after = retry_after


class Checks:
    """The checks of one server.

    ``queue_size`` bounds the checks waiting for a worker (uploads still arriving count, so a full
    queue is refused before a body is read). Uploaded files live in ``upload_dir`` and are deleted
    when their check ends, except a GO check's when ``keep_go`` (the server can create avatars):
    those stay until the avatar is created, for KEEP_GO_S at most, or until the server stops.
    """

    def __init__(self, *, jobs: int, policy: Policy, time_limit: float, queue_size: int, data_dir: Path,
                 upload_dir: Path, keep_go: bool) -> None:
        self.jobs, self.policy, self.time_limit, self.queue_size = jobs, policy, time_limit, queue_size
        self.data_dir, self.upload_dir, self.keep_go = data_dir, upload_dir, keep_go
        self._lock = threading.Lock()
        self._records: dict[str, CheckRecord] = {}
        self._given: dict[str, dict[Role, str]] = {}  # id -> what the worker reads: server paths, URLs
        self._uploads: dict[str, list[Path]] = {}
        self._receiving = 0
        self._inbox: queue.Queue[SourceSet] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, name="preflight-pool", daemon=True)
        self._creating: dict[str, threading.Lock] = {}
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {data_dir} for the reports ({exc.strerror}); "
                             "set PREFLIGHT_HOME to a writable folder") from None
        self._load()

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        shutil.rmtree(self.upload_dir, ignore_errors=True)

    # -- submitting ------------------------------------------------------------------------

    def new_id(self) -> str:
        return uuid.uuid4().hex

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a queue slot while a request's body arrives; :class:`QueueFull` when none is free."""
        with self._lock:
            waiting = sum(r.status is CheckStatus.QUEUED for r in self._records.values()) + self._receiving
            if waiting >= self.queue_size:
                raise QueueFull(self.queue_size, self._retry_after(waiting))
            self._receiving += 1
        try:
            yield
        finally:
            with self._lock:
                self._receiving -= 1

    def submit(self, check_id: str, given: dict[Role, str], labels: dict[Role, str], uploads: list[Path]) -> CheckRecord:
        """Queue a check of ``given`` (server paths or URLs by role), shown by ``labels``."""
        record = CheckRecord(id=check_id, status=CheckStatus.QUEUED, created=datetime.now(timezone.utc),
                             sources={role.value: labels[role] for role in given})
        with self._lock:
            self._records[check_id] = record
            self._given[check_id] = given
            self._uploads[check_id] = uploads
        shown = {role: labels[role] for role in given}  # the set's report names them so, and itself by them
        self._inbox.put(SourceSet(check_id, **{role.value: path for role, path in given.items()},
                                  labels=tuple(shown.items()), title=" + ".join(shown.values())))
        return record

    # -- reading ---------------------------------------------------------------------------

    def get(self, check_id: str) -> CheckRecord | None:
        """A check by id: from memory, else (an older one) from its file."""
        if not _ID.fullmatch(check_id):
            return None
        with self._lock:
            record = self._records.get(check_id)
        return record or _read(self.data_dir / f"{check_id}.json")

    def recent(self, limit: int) -> list[CheckRecord]:
        with self._lock:
            records = sorted(self._records.values(), key=lambda r: r.created, reverse=True)
        return records[:limit]

    def given(self, check_id: str) -> dict[Role, str]:
        """What a create uploads or sends: the kept files and URLs; empty once they are gone."""
        with self._lock:
            given = self._given.get(check_id, {})
        return {role: value for role, value in given.items() if is_url(value) or Path(value).exists()}

    @contextlib.contextmanager
    def creating(self, check_id: str) -> Iterator[None]:
        """One create at a time per check: a second request waits, then sees the first's avatar."""
        with self._lock:
            lock = self._creating.setdefault(check_id, threading.Lock())
        with lock:
            yield

    def set_avatar(self, check_id: str, avatar: dict[str, Any], *, created: bool = False) -> None:
        with self._lock:
            record = self._records.get(check_id)
            if record is None:
                return
            record = self._records[check_id] = record.model_copy(update={"avatar": avatar})
            uploads = self._uploads.pop(check_id, []) if created else []
        _delete(uploads)  # sent to Mosaic: no longer needed here
        self._save(record)

    def update_avatar(self, avatar: dict[str, Any]) -> None:
        """A fresher look at an avatar, for the checks that made it."""
        with self._lock:
            ids = [r.id for r in self._records.values() if r.avatar and r.avatar.get("id") == avatar.get("id")]
        for check_id in ids:
            self.set_avatar(check_id, avatar)

    # -- the pool's thread -----------------------------------------------------------------

    def _feed(self) -> None:
        try:
            ledger: Ledger | None = Ledger()
        except UsageError as exc:
            log.warning("%s; going on without the ledger (no cache)", exc)
            ledger = None
        try:
            with Pool(self.jobs, self.policy, self.time_limit) as pool:
                while not self._stop.is_set():
                    self._take(pool, ledger, wait=0.0 if pool.pending else 0.2)
                    for task, outcome in pool.poll(0.2) if pool.pending else []:
                        with self._guard(task[0].name):
                            self._finished(finish(task, outcome, self.policy, ledger), failed=isinstance(outcome, Failed))
                    self._mark_running([s.name for s, _ in pool.running])
        finally:
            if ledger is not None:
                ledger.close()

    def _take(self, pool: Pool, ledger: Ledger | None, wait: float) -> None:
        """Move submitted sets into the pool, answering those the cache knows at once."""
        while True:
            try:
                s = self._inbox.get(timeout=wait) if wait else self._inbox.get_nowait()
            except queue.Empty:
                return
            wait = 0.0
            with self._guard(s.name):
                known = prepare(s, self.policy, ledger)
                if isinstance(known, Result):
                    self._finished(known, failed=False)
                else:
                    pool.submit(known)

    @contextlib.contextmanager
    def _guard(self, check_id: str) -> Iterator[None]:
        """A bug on one check's way ends that check as an error, not the thread that feeds the pool."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the server must go on checking the others
            log.exception("check %s broke the server's handling", check_id)
            message = f"the server broke on this check: {type(exc).__name__}: {exc}"
            with self._lock:
                record = self._records.get(check_id)
                if record is None:
                    return
                self._records[check_id] = record.model_copy(update={
                    "status": CheckStatus.ERROR, "outcome": Outcome.ERROR,
                    "error": Problem(reason="check.error", message=message)})
                uploads = self._uploads.pop(check_id, [])
            _delete(uploads)

    def _mark_running(self, ids: list[str]) -> None:
        with self._lock:
            for check_id in ids:
                record = self._records.get(check_id)
                if record is not None and record.status is CheckStatus.QUEUED:
                    self._records[check_id] = record.model_copy(update={"status": CheckStatus.RUNNING})

    def _finished(self, result: Result, failed: bool) -> None:
        check_id = result.set.name
        with self._lock:
            record = self._records[check_id]
        report, evidence = result.report, result.evidence
        problems = report.blocking
        record = record.model_copy(update={
            "status": CheckStatus.ERROR if failed else CheckStatus.DONE, "outcome": result.outcome,
            "cached": result.cached, "seconds": result.seconds or None, "report": report, "evidence": evidence,
            "error": Problem(reason=problems[0].reason or "check.error", message=problems[0].message) if failed else None,
        })
        keep = self.keep_go and report.go and not failed
        with self._lock:
            self._records[check_id] = record
            uploads = ([] if keep else self._uploads.pop(check_id, [])) + self._forget_old()
        _delete(uploads)
        self._save(record)

    def _forget_old(self) -> list[Path]:
        """Keep the latest RECENT finished checks in memory (older ones are read from their files
        when asked for); returns the uploads to delete: those of the checks forgotten, and a GO
        check's kept past KEEP_GO_S. Under the lock."""
        done = sorted((r for r in self._records.values() if r.finished), key=lambda r: r.created)
        forgotten: list[Path] = []
        for record in done[:-RECENT]:
            del self._records[record.id]
            self._given.pop(record.id, None)
            self._creating.pop(record.id, None)
            forgotten += self._uploads.pop(record.id, [])
        stale = datetime.now(timezone.utc) - timedelta(seconds=KEEP_GO_S)
        for record in done[-RECENT:]:
            if record.created < stale:
                forgotten += self._uploads.pop(record.id, [])
        return forgotten

    # -- storage ---------------------------------------------------------------------------

    def _save(self, record: CheckRecord) -> None:
        path = self.data_dir / f"{record.id}.json"
        partial = path.with_suffix(".partial")
        try:
            partial.write_text(_dump(record), encoding="utf-8")
            partial.replace(path)
        except OSError as exc:
            log.warning("cannot keep the report of check %s in %s (%s)", record.id, self.data_dir, exc.strerror)

    def _load(self) -> None:
        paths = sorted(self.data_dir.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:RECENT]
        for record in filter(None, map(_read, paths)):
            self._records[record.id] = record

    def _retry_after(self, waiting: int) -> int:
        """Seconds until a slot frees, from the recent checks' times (5 s each when none are known)."""
        times = [r.seconds for r in self._records.values() if r.seconds][-20:]
        each = sum(times) / len(times) if times else 5.0
        return max(1, round(each * max(1, waiting) / self.jobs))


class _StoredRecord(CheckRecord):
    """A record as written to disk: with its evidence, which the API leaves out."""

    evidence: list[Evidence] = Field(default_factory=list)

    def record(self) -> CheckRecord:
        return CheckRecord.model_validate({**self.model_dump(), "evidence": self.evidence})


def _read(path: Path) -> CheckRecord | None:
    """A stored record, or None when there is none or it no longer reads (an older schema)."""
    try:
        return _StoredRecord.model_validate_json(path.read_text(encoding="utf-8")).record()
    except (OSError, ValueError):
        return None


def _dump(record: CheckRecord) -> str:
    return _StoredRecord.model_validate({**record.model_dump(), "evidence": record.evidence}).model_dump_json()


def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
