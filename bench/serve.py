"""`preflight serve` under load, against `preflight batch` on the same clips.

Makes the clips as bench/batch.py does (20 different 10 s 1280x720 speaking-puppet clips), starts
`preflight serve --jobs 2` with a fresh ledger, and lets 20 clients at once each upload 3 clips
one after the other (client i takes clips 3i .. 3i+2, round the 20), waiting for each report
(long-poll) before the next, and honouring 429's Retry-After. Then it times
`preflight batch FOLDER --jobs 2 --no-cache` on the same 20 clips with another fresh ledger.

It prints the wall times, the checks per minute of each, and what the clients saw: every answer's
status, how many reports came back (it fails unless every upload got its report and no answer
was a 5xx).

    .venv/bin/python bench/serve.py [--clips 20] [--clients 20] [--each 3] [--from DIR]

``--from DIR`` uses the .mp4 files in DIR instead of making clips.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import make_clips, wall  # noqa: E402 - the clips of the batch bench


def client(url: str, clips: list[Path], seen: Counter) -> tuple[int, int]:
    """Upload each clip and wait for its report; the reports received, and how many were cached."""
    reports = cached = 0
    with httpx.Client(base_url=url, timeout=120) as http:
        for clip in clips:
            while True:
                sent = http.post("/v1/checks", files={"video": (clip.name, clip.read_bytes())})
                seen[sent.status_code] += 1
                if sent.status_code != 429:
                    break
                time.sleep(float(sent.headers.get("Retry-After", "1")))
            if sent.status_code != 202:
                continue
            check = sent.json()
            while check["status"] in ("queued", "running"):
                answer = http.get(f"/v1/checks/{check['id']}", params={"wait": 30})
                seen[answer.status_code] += 1
                check = answer.json()
            reports += check.get("report") is not None
            cached += bool(check.get("cached"))
    return reports, cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--each", type=int, default=3)
    parser.add_argument("--from", dest="source", type=Path, help="use the .mp4 files here")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.source:
            clips = sorted(args.source.glob("*.mp4"))[: args.clips]
        else:
            clips = make_clips(folder, args.clips)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("PREFLIGHT_SERVE_TOKEN", "MOSAIC_API_KEY")}
        server = subprocess.Popen([preflight, "serve", "--port", str(port), "--jobs", "2", "--queue", str(args.clients)],
                                  env={**env, "PREFLIGHT_HOME": str(folder / "serve-home")},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    httpx.get(f"{url}/v1/info").raise_for_status()
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            seen: Counter = Counter()
            work = [[clips[(i * args.each + k) % len(clips)] for k in range(args.each)] for i in range(args.clients)]
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                got = list(pool.map(lambda mine: client(url, mine, seen), work))
            serve_s = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)
        clip_folder = folder / "same-clips"
        clip_folder.mkdir()
        for clip in clips:
            shutil.copy(clip, clip_folder / clip.name)
        batch_env = {**env, "PREFLIGHT_HOME": str(folder / "batch-home")}
        batch_s = wall(lambda: subprocess.run([preflight, "batch", str(clip_folder), "--jobs", "2", "--no-cache",
                                               "--progress", "none"], env=batch_env, stdout=subprocess.DEVNULL))

    uploads = args.clients * args.each
    errors = sum(n for status, n in seen.items() if status >= 500)
    print(f"{args.clients} clients x {args.each} clips ({len(clips)} different), preflight serve --jobs 2")
    reports, cached = sum(r for r, _ in got), sum(c for _, c in got)
    print(f"serve: {serve_s:6.1f} s for {uploads} uploads, {reports} reports ({cached} from the cache): "
          f"{(reports - cached) / serve_s * 60:.1f} checks/min; answers by status: {dict(sorted(seen.items()))}")
    print(f"batch: {batch_s:6.1f} s for {len(clips)} clips --no-cache ({len(clips) / batch_s * 60:.1f} clips/min)")
    if reports != uploads or errors:
        print(f"FAILED: {uploads - reports} uploads without a report, {errors} answers 5xx")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
