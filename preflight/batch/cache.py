"""The batch cache: a result is stored in the ledger under a key of everything that decides it,
with no name in it, and made into a report for the set that finds it."""

from __future__ import annotations

import hashlib
import json
import os
import zlib

from preflight.batch.discovery import SourceSet
from preflight.download import is_url
from preflight.evidence import Evidence
from preflight.ledger import Ledger
from preflight.policy import Policy
from preflight.report import Check, Report, SourceInfo
from preflight.sources import sha256_of
from preflight.version import SCHEMA_VERSION, judges


def cache_key(sources: SourceSet, policy: Policy) -> str | None:
    """What makes a result reusable: the bytes of each source, the policy, and what judged them
    (preflight's, FFmpeg's and the judging libraries' versions, the model files' digest).
    None for sets with URLs, whose bytes are only known after a download."""
    if any(is_url(p) for p in sources.given.values()):
        return None
    # Only regular files are hashed: a manifest row may name /dev/zero (endless) or a FIFO
    # (blocks); the worker's probe refuses those at once, as `check` does.
    if not all(os.path.isfile(path) for path in sources.given.values()):
        return None
    try:
        content = {role.value: sha256_of(path) for role, path in sources.given.items()}
    except OSError:
        return None
    whole = json.dumps([content, policy.model_dump(mode="json"), judges(), SCHEMA_VERSION], sort_keys=True)
    return hashlib.sha256(whole.encode()).hexdigest()


def cached(ledger: Ledger, key: str, s: SourceSet, policy: Policy) -> tuple[Report, list[Evidence]] | None:
    """The stored result as ``s``'s report: judged once, it is made here under ``s``'s name and
    with each source named as ``s`` names it. None when there is none, or it no longer reads as
    a result (checked again)."""
    hit = ledger.checked(key)
    if hit is None:
        return None
    names = {role.value: label for role, label in s.shown.items()}
    try:
        judged = json.loads(hit[0])
        sources = [SourceInfo.model_validate({**info, "path": names[info["role"]]}) for info in judged["sources"]]
        checks = [Check.model_validate({**check, "source": names[role]}) for role, check in judged["checks"]]
        evidence = [Evidence.model_validate({**e, "source": names[role]})
                    for role, e in json.loads(zlib.decompress(hit[1]))]
        return Report.judge(sources, checks, policy, judged_by=judged["judged_by"], name=s.title or s.name), evidence
    except (ValueError, TypeError, KeyError, zlib.error):
        return None


def store(ledger: Ledger, key: str, report: Report, evidence: list[Evidence]) -> None:
    """Keep what was judged, each check and picture under its source's role and nothing named:
    the same bytes may come again under other names. A result whose checks cannot all be put by
    role (two sources of one role) is not kept."""
    roles = {info.path: info.role.value for info in report.sources}
    if len(set(roles.values())) < len(roles) or any(x.source not in roles for x in (*report.checks, *evidence)):
        return
    judged = {"sources": [info.model_dump(mode="json", exclude={"path"}) for info in report.sources],
              "checks": [(roles[c.source], c.model_dump(mode="json", exclude={"source"})) for c in report.checks],
              "judged_by": report.judged_by}
    pictures = [(roles[e.source], e.model_dump(mode="json", exclude={"source"})) for e in evidence]
    ledger.store_checked(key, json.dumps(judged), zlib.compress(json.dumps(pictures).encode()))
