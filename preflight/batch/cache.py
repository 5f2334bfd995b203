"""The batch cache: a result is stored in the ledger under a key of everything that decides it."""

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
from preflight.report import Report
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


def cached(ledger: Ledger, key: str) -> tuple[Report, list[Evidence]] | None:
    """A stored result, or None when there is none or it no longer reads as a report (checked again)."""
    hit = ledger.checked(key)
    if hit is None:
        return None
    try:
        return Report.model_validate_json(hit[0]), _unpack(hit[1])
    except (ValueError, zlib.error):
        return None


def store(ledger: Ledger, key: str, report: Report, evidence: list[Evidence]) -> None:
    ledger.store_checked(key, report.model_dump_json(), _pack(evidence))


def _pack(evidence: list[Evidence]) -> bytes:
    return zlib.compress(json.dumps([e.model_dump(mode="json") for e in evidence]).encode())


def _unpack(blob: bytes) -> list[Evidence]:
    return [Evidence.model_validate(e) for e in json.loads(zlib.decompress(blob))]
