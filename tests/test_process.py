"""Process-wide settings."""

import json
import os
import platform
import subprocess
import sys

import pytest

from preflight.process import limit_malloc_arenas, single_threaded_blas, small_pages_for_arrays


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_glibc_takes_the_arena_limit():
    assert limit_malloc_arenas(2) is True


def test_blas_gets_one_thread_unless_the_caller_chose():
    environ: dict[str, str] = {}
    assert single_threaded_blas(environ) is True and environ == {"OPENBLAS_NUM_THREADS": "1"}
    chosen = {"OPENBLAS_NUM_THREADS": "4"}
    assert single_threaded_blas(chosen) is False and chosen == {"OPENBLAS_NUM_THREADS": "4"}


def test_numpy_gets_ordinary_pages_unless_the_caller_chose():
    environ: dict[str, str] = {}
    assert small_pages_for_arrays(environ) is True and environ == {"NUMPY_MADVISE_HUGEPAGE": "0"}
    chosen = {"NUMPY_MADVISE_HUGEPAGE": "1"}
    assert small_pages_for_arrays(chosen) is False and chosen == {"NUMPY_MADVISE_HUGEPAGE": "1"}


@pytest.mark.parametrize("console", [True, False])
def test_the_console_script_sets_numpy_up_and_a_library_import_changes_nothing(console):
    pytest.importorskip("threadpoolctl")
    main = "/usr/local/bin/preflight" if console else "/home/ada/script.py"
    probe = (f"import __main__; __main__.__file__ = {main!r}; import os, json, preflight, threadpoolctl, numpy; "
             "print(json.dumps([os.environ.get('OPENBLAS_NUM_THREADS'), "
             "[p['num_threads'] for p in threadpoolctl.threadpool_info() if p['internal_api'] == 'openblas'], "
             "os.environ.get('NUMPY_MADVISE_HUGEPAGE')]))")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "NUMPY_MADVISE_HUGEPAGE")}
    setting, threads, pages = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                                        text=True, check=True).stdout)
    if console:
        assert setting == "1" and threads and all(n == 1 for n in threads), (setting, threads)
        assert pages == "0"
    else:
        assert setting is None and pages is None  # the caller's process is the caller's
