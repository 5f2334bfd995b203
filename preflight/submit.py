"""The gate: check a source set, and only when it is GO, upload it and create the avatar, once.

    sources -> check -> (NO-GO: raise RejectedSources, nothing sent)
            -> uploads (reused from the ledger when the same bytes went up before)
            -> create (or the avatar the ledger already holds for this name and media)
            -> wait (optional)

Local files are uploaded; URLs are downloaded and checked, then sent as URLs. A still stored
turned (as phones store portraits, with an EXIF orientation tag) is uploaded as an upright copy,
the picture the check judged, whatever Mosaic makes of the tag: from a URL, downloaded again and
sent only if its bytes are the ones checked. Asset ids cannot be checked and are sent only on
trust. The ledger is written before and after every step that changes something on the API, so
a run that dies anywhere is resumed by the next one.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from preflight.download import is_url
from preflight.errors import AvatarFailed, MosaicError, PreflightError, RejectedSources, UsageError
from preflight.ledger import AvatarRecord, Ledger, Upload, default_path
from preflight.media import Probe, Role, probe
from preflight.media.repair import Edit, apply
from preflight.mosaic import DEFAULT_BASE_URL, Avatar, MosaicClient, base_url_from_env
from preflight.pipeline import inspect
from preflight.policy import Policy
from preflight.report import Check, Report, Status
from preflight.sources import PathArg, Sources, local_copies, sha256_of
from preflight.version import judges

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    """One source of the set as given: a local file, a URL, or the id of an uploaded asset."""

    role: Role
    given: str
    kind: str  # "file", "url" or "asset"
    identity: str = ""  # what makes it the same media: "sha256:..." or "asset:..."
    turned: bool = False  # a still stored turned, by its check: uploaded upright, also from a URL

    @property
    def uploaded(self) -> bool:
        """Sent as an upload (an id), not as its URL: a file, or a URL's still stored turned."""
        return self.kind == "file" or (self.kind == "url" and self.turned)

    @property
    def field(self) -> str:
        """Its key in the create request's ``sources``."""
        return f"{self.role.value}_{'id' if self.uploaded or self.kind == 'asset' else 'url'}"


@dataclass(frozen=True)
class Plan:
    """What a create would send: the sources, and the report the gate judged them by."""

    name: str
    report: Report
    sources: list[Source]

    def requests(self, ledger: Ledger | None = None, base_url: str = DEFAULT_BASE_URL, *, new: bool = False) -> list[str]:
        """The requests a create would send, in order: the same decisions the real run takes
        (:func:`_avatar_step`, :func:`_upload_step`) from what ``ledger`` holds for ``base_url``."""
        made = _avatar_step(self, ledger, base_url, new)
        if made is not None and made.avatar_id:
            return [f"GET /avatar-profiles/{made.avatar_id}  (made earlier from these sources; --new creates another)"]
        steps = []
        if made is not None:
            steps.append("GET /avatar-profiles  (an earlier create's answer was lost: the avatar it made is adopted, "
                         "else the steps below)")
        return steps + self._create_requests(ledger, base_url)

    def _create_requests(self, ledger: Ledger | None, base_url: str) -> list[str]:
        steps = []
        body: dict[str, str] = {}
        for s in self.sources:
            if not s.uploaded:
                body[s.field] = s.given
                continue
            name, kind = Path(s.given).name, s.role.value
            done = _upload_step(s, ledger, base_url)
            if done is not None and done.state == "final":
                body[s.field] = done.asset_id  # uploaded before: reused
                continue
            if s.kind == "url":
                steps.append(f"GET {s.given}  (again: it is sent only if its bytes are the ones checked)")
            if done is not None:  # stored by an earlier run that stopped before finalizing
                steps.append(f"POST /uploads/{kind}/finalize_upload  {{\"{s.field}\": \"{done.asset_id}\"}}  "
                             "(uploaded by an earlier run; if it expired, uploaded again)")
                body[s.field] = done.asset_id
                continue
            steps += [f"POST /uploads/{kind}/get_upload_url",
                      f"POST <signed upload URL>  multipart: the upload fields, then file={name}"
                      + (" (an upright copy: the photo is stored turned)" if s.turned else ""),
                      f"POST /uploads/{kind}/finalize_upload  {{\"{s.field}\": <from get_upload_url>}}"]
            body[s.field] = f"<{s.field} of {name}>"
        steps.append("GET /avatar-profiles  (the avatars already named so, to know this one again if its answer is lost)")
        steps.append(f"POST /avatar-profiles/create  {json.dumps({'name': self.name, 'sources': body})}")
        return steps


def _avatar_step(plan: Plan, ledger: Ledger | None, base_url: str, new: bool) -> AvatarRecord | None:
    """What the ledger holds of an avatar made from these sources with this name (None: create
    one): with an id, it is returned; without one, its create's answer was lost."""
    return None if new or ledger is None else ledger.avatar(base_url, _key(plan))


def _upload_step(source: Source, ledger: Ledger | None, base_url: str) -> Upload | None:
    """What the ledger holds of this file's upload: final (reused), stored (finalized), or None."""
    if ledger is None:
        return None
    return ledger.upload(base_url, source.role.value, source.identity.removeprefix("sha256:"))


def create_avatar(
    name: str,
    *,
    video: PathArg | None = None,
    image: PathArg | None = None,
    audio: PathArg | None = None,
    video_id: str | None = None,
    image_id: str | None = None,
    audio_id: str | None = None,
    wait: bool = False,
    wait_timeout: float = 900.0,
    policy: Policy | None = None,
    new: bool = False,
    trust_asset_ids: bool = False,
    client: MosaicClient | None = None,
    ledger: Ledger | None = None,
    notify: Notify | None = None,
    checked: Callable[[Report], None] | None = None,
) -> Avatar:
    """Check the sources and, when they pass, create the avatar on Mosaic (once).

    ``video``, ``image`` and ``audio`` are paths or http(s) URLs; ``*_id`` are ids of assets
    already uploaded. Returns the avatar (ready, when ``wait``). Creating again with the same
    name and media returns the avatar made the first time unless ``new``.

    ``checked`` is called with the report once the sources passed, before anything is sent.
    Raises :class:`RejectedSources` (with ``.report``) when the sources do not pass, nothing
    having been sent; :class:`MosaicError` when the API fails, :class:`AvatarFailed` when the
    avatar does; :class:`UsageError` for a malformed set or a missing API key.
    """
    say = notify or (lambda _: None)
    own_client, own_ledger = client is None, ledger is None
    client = client or MosaicClient.from_env()  # a missing key fails before minutes of checking
    ledger = ledger or Ledger()
    try:
        plan = plan_avatar(name, video=video, image=image, audio=audio, video_id=video_id, image_id=image_id,
                           audio_id=audio_id, policy=policy, trust_asset_ids=trust_asset_ids)
        if checked is not None:
            checked(plan.report)
        avatar = submit_plan(plan, client, ledger, new=new, trust_asset_ids=trust_asset_ids, notify=say)
        if avatar.status == "failed":  # made earlier from these sources, and it failed then
            raise AvatarFailed(f"avatar {avatar.id} failed: {avatar.status_message or 'no reason given'}; "
                               "pass --new to try these sources again")
        if wait and not avatar.finished:
            say(f"waiting for avatar {avatar.id} to be ready")
            avatar = client.wait(avatar.id, wait_timeout, on_poll=lambda a: _seen(ledger, client, a, say))
        return avatar
    finally:
        if own_client:
            client.close()
        if own_ledger:
            ledger.close()


def plan_avatar(
    name: str,
    *,
    video: PathArg | None = None,
    image: PathArg | None = None,
    audio: PathArg | None = None,
    video_id: str | None = None,
    image_id: str | None = None,
    audio_id: str | None = None,
    policy: Policy | None = None,
    trust_asset_ids: bool = False,
) -> Plan:
    """Check the sources and say which requests a create would send; send nothing.

    Raises :class:`RejectedSources` when they do not pass, or hold asset ids without
    ``trust_asset_ids``.
    """
    if not name.strip():
        raise UsageError("an avatar needs a name (--name)")
    given = _gather({Role.VIDEO: (video, video_id), Role.IMAGE: (image, image_id), Role.AUDIO: (audio, audio_id)})
    policy = policy or Policy()
    media = Sources(**{s.role.value: s.given for s in given if s.kind != "asset"})
    checked = inspect(media, policy=policy, evidence=False)[0] if media.named else None
    checks = [*(checked.checks if checked else ()), *(_unchecked(s, trust_asset_ids) for s in given if s.kind == "asset")]
    report = Report.judge(checked.sources if checked else [], checks, policy,
                          judged_by=checked.judged_by if checked else judges())
    sources = [s if s.kind == "asset" else _identified(s, report) for s in given]
    plan = Plan(name, report, sources)
    _gate(plan, trust_asset_ids)
    return plan


def plan_checked(name: str, report: Report, given: dict[str, str]) -> Plan:
    """The plan for sources already checked (by a batch): ``given`` maps roles to paths or URLs."""
    sources = [_identified(Source(Role(role), value, "url" if is_url(value) else "file"), report)
               for role, value in given.items()]
    return Plan(name, report, sources)


def submit_plan(plan: Plan, client: MosaicClient, ledger: Ledger, *, new: bool = False,
                trust_asset_ids: bool = False, notify: Notify | None = None) -> Avatar:
    """Upload and create for a plan whose report is GO; a NO-GO plan raises and sends nothing."""
    _gate(plan, trust_asset_ids)
    return _submit(plan, client, ledger, new, notify or (lambda _: None))


def dry_run(plan: Plan, *, new: bool = False) -> list[str]:
    """The requests a create would send now, minus what this machine's ledger holds for the API
    that MOSAIC_BASE_URL names; never creates a ledger."""
    base_url = base_url_from_env()
    if not default_path().exists():
        return plan.requests(new=new)
    with Ledger() as ledger:
        return plan.requests(ledger, base_url, new=new)


def submit_checked(sets: Iterable[tuple[str, Report, dict[Role, str]]], client: MosaicClient, *,
                   notify: Notify | None = None) -> Iterator[tuple[str, Avatar | PreflightError]]:
    """Submit sets already checked (a batch's GO sets: name, report, sources by role) through the
    same gate as :func:`create_avatar`; yield each name with its avatar, or the error that stopped it."""
    with Ledger() as ledger:
        for name, report, given in sets:
            try:
                yield name, submit_plan(plan_checked(name, report, given), client, ledger, notify=notify)
            except PreflightError as exc:
                yield name, exc


def _gate(plan: Plan, trust_asset_ids: bool) -> None:
    if not plan.report.go:
        raise RejectedSources("NO-GO: the sources did not pass the checks; nothing was sent", plan.report)
    if not trust_asset_ids and any(s.kind == "asset" for s in plan.sources):
        raise RejectedSources("asset ids cannot be checked here; nothing was sent. Check the original files, "
                              "or pass --trust-asset-ids to submit them unchecked", plan.report)


def _gather(named: dict[Role, tuple[PathArg | None, str | None]]) -> list[Source]:
    sources = []
    for role, (media, asset) in named.items():
        if media is not None and asset is not None:
            raise UsageError(f"give the {role.value} as a file or URL, or as an asset id, not both")
        if asset is not None:
            sources.append(Source(role, asset, "asset", f"asset:{asset}"))
        elif media is not None:
            sources.append(Source(role, str(media), "url" if is_url(str(media)) else "file"))
    roles = {s.role for s in sources}
    if Role.VIDEO not in roles and not {Role.IMAGE, Role.AUDIO} <= roles:
        raise UsageError("an avatar needs a video, or an image and a voice audio (or all three)")
    return sources


def _identified(source: Source, report: Report) -> Source:
    """The source with the sha256 its check recorded: the same media is the same bytes, whether
    they came from a file or a URL."""
    found = [i for i in report.sources if i.role is source.role and i.sha256]
    if not found:
        raise UsageError(f"{source.given}: no checked bytes recorded for it; check it again")
    turned = source.role is Role.IMAGE and (found[0].orientation or 1) != 1
    return Source(source.role, source.given, source.kind, f"sha256:{found[0].sha256}", turned)


def _unchecked(source: Source, trusted: bool) -> Check:
    return Check(
        id="asset_id", source=f"{source.role.value}_id {source.given}", status=Status.SKIPPED, value=None,
        message="an uploaded asset cannot be checked here without its bytes"
        + ("; sent on trust (--trust-asset-ids)" if trusted else "; not sent without --trust-asset-ids"),
    )


def _key(plan: Plan) -> str:
    return json.dumps({"name": plan.name, **{s.role.value: s.identity for s in plan.sources}}, sort_keys=True)


def _submit(plan: Plan, client: MosaicClient, ledger: Ledger, new: bool, say: Notify) -> Avatar:
    base, key = client.base_url, _key(plan)
    record = _avatar_step(plan, ledger, base, new)
    if record and record.avatar_id is None:
        adopted = _find_lost_create(record.row, record.name, record.names_before, client, ledger, say)
        if adopted is None:
            ledger.drop_create(record.row)  # looked for and not there: this run creates it
        record = dataclasses.replace(record, avatar_id=adopted)
    if record and record.avatar_id:
        try:
            avatar = client.get_avatar(record.avatar_id)
        except MosaicError as exc:
            if exc.status_code != 404:
                raise
            say(f"avatar {record.avatar_id} from an earlier run is gone from Mosaic; creating it again")
        else:
            say(f"avatar {avatar.id} was already created from these sources with this name; "
                "returning it (pass --new to create another)")
            ledger.set_status(base, avatar.id, avatar.status, avatar.status_message)
            return avatar
    body = {s.field: _upload(s, client, ledger, say) if s.uploaded else s.given for s in plan.sources}
    names_before = [a.id for a in client.list_avatars() if a.name == plan.name]
    row = ledger.begin_create(base, key, plan.name, body, names_before)
    say(f"creating avatar {plan.name!r}")
    try:
        avatar = client.create_avatar(plan.name, body)
    except MosaicError as exc:
        if exc.status_code is not None and exc.status_code < 500:
            ledger.drop_create(row)
            raise
        # It may have been created: look now; a later run looks again before creating.
        adopted = _find_lost_create(row, plan.name, names_before, client, ledger, say)
        if adopted is None:
            raise
        return client.get_avatar(adopted)
    ledger.finish_create(row, avatar.id, avatar.status, avatar.status_message)
    return avatar


def _find_lost_create(row: int, name: str, names_before: list[str], client: MosaicClient, ledger: Ledger,
                      say: Notify) -> str | None:
    """A create whose answer never came: adopt an avatar of that name that did not exist before it
    and that no other create in the ledger claims. Returns its id, or None."""
    taken = set(names_before) | ledger.known_ids(client.base_url)
    candidates = [a for a in client.list_avatars() if a.name == name and a.id not in taken]
    if not candidates:
        return None
    avatar = candidates[-1]
    say(f"found avatar {avatar.id}, created by an earlier request whose answer was lost")
    ledger.finish_create(row, avatar.id, avatar.status, avatar.status_message)
    return avatar.id


def _upload(source: Source, client: MosaicClient, ledger: Ledger, say: Notify) -> str:
    """The asset id of ``source``'s upload: made now, or reused from the ledger (the same bytes)."""
    done = _upload_step(source, ledger, client.base_url)
    if source.kind == "url" and not (done and done.state == "final"):
        # a still stored turned, not uploaded before: its bytes again, for the upright copy
        with local_copies(Sources(**{source.role.value: source.given})) as local:
            return _upload_file(source, Path(local.sources.named[source.role]), done, client, ledger, say)
    return _upload_file(source, Path(source.given), done, client, ledger, say)


def _upload_file(source: Source, path: Path, done: Upload | None, client: MosaicClient, ledger: Ledger,
                 say: Notify) -> str:
    """:func:`_upload` of the bytes at ``path``; ``done``: what the ledger holds for them."""
    role, kind = source.role, source.role.value  # the client takes the Role; the ledger and the words its name
    base, sha = client.base_url, source.identity.removeprefix("sha256:")
    if done and done.state == "final":
        say(f"{path.name}: uploaded before as {kind}_id {done.asset_id}; reusing it")
        return done.asset_id
    if done and done.state == "stored":
        try:
            client.finalize_upload(role, done.asset_id)
        except MosaicError as exc:
            if exc.status_code != 404:
                raise
            say(f"{path.name}: the earlier upload expired; uploading again")
        else:
            ledger.record_upload(base, kind, sha, done.asset_id, "final")
            return done.asset_id
    if sha256_of(path) != sha:
        what = f"{source.given}: its bytes" if source.kind == "url" else f"{path}: the file"
        raise UsageError(f"{what} changed after it was checked; nothing was uploaded. Check it again")
    with _as_shown(path, role) as sent:
        say(f"{path.name}: uploading ({sent.stat().st_size / 1e6:.1f} MB)"
            + (", an upright copy: the photo is stored turned, with an EXIF orientation tag" if sent != path else ""))
        target = client.get_upload_url(role)
        client.put_file(target, sent)
    ledger.record_upload(base, kind, sha, target.asset_id, "stored")
    try:
        client.finalize_upload(role, target.asset_id)
    except MosaicError as exc:
        if exc.status_code is not None and exc.status_code < 500:
            ledger.forget_upload(base, kind, sha)
        raise
    ledger.record_upload(base, kind, sha, target.asset_id, "final")
    return target.asset_id


@contextmanager
def _as_shown(path: Path, role: Role) -> Iterator[Path]:
    """The file to upload: ``path`` itself, or for a still stored turned (its EXIF orientation
    says how to show it) an upright copy without the tag, in a temporary folder: the picture the
    check judged, for a reader that ignores the tag as well as one that follows it."""
    source = _stored_turned(path, role)
    if source is None:
        yield path
        return
    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png") else ".png"
    with tempfile.TemporaryDirectory(prefix="preflight-upright-") as folder:
        copy = Path(folder) / f"{path.stem}{suffix}"
        apply(source, Edit(), copy)
        yield copy


def _stored_turned(path: Path, role: Role) -> Probe | None:
    """The probe of a still whose EXIF orientation turns it (phones store portraits so), else None."""
    if role is not Role.IMAGE:
        return None
    source = probe(path)
    return source if source.video is not None and source.video.orientation != 1 else None


def _seen(ledger: Ledger, client: MosaicClient, avatar: Avatar, say: Notify) -> None:
    ledger.set_status(client.base_url, avatar.id, avatar.status, avatar.status_message)
    say(f"avatar {avatar.id}: {avatar.status}")
