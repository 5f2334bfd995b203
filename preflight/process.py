"""Settings for a whole process that runs checks: the console script and each batch worker.

A library import changes nothing here: these are the caller's process's to choose.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import MutableMapping

_M_ARENA_MAX = -8  # mallopt's parameter number (glibc's malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let glibc's allocator keep at most ``arenas`` heaps; True when it took the setting.

    glibc gives threads that allocate at once heaps of their own (up to eight per core) and hands
    a heap's freed memory back to the system only from its top, so each analyzer thread's peak
    stays resident after the thread is done with it: the check's threads together held hundreds
    of MB they no longer used. With two heaps that memory is reused by whichever thread allocates
    next. Call it before the analysis threads start; elsewhere than glibc it does nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError, TypeError):
        return False


def single_threaded_blas(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Ask OpenBLAS (numpy's matrix products) for one thread, unless the caller chose a number;
    True when this call set it. Must run before numpy is first imported; processes started
    afterwards (batch workers) inherit it.

    A check's matrix products are small and run on the analyzers' threads side by side; OpenBLAS's
    own worker threads gain no speed on them and spin between them, burning CPU the decoder and the
    models need (bench/floor.py shows the difference).
    """
    return _unless_chosen(environ, "OPENBLAS_NUM_THREADS", "1")


def small_pages_for_arrays(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Ask numpy not to request transparent huge pages for its large arrays, unless the caller
    chose; True when this call set it. Must run before numpy is first imported; processes started
    afterwards (batch workers) inherit it.

    numpy marks every array of 4 MB or more for huge pages (``madvise``). Where the kernel gives
    huge pages to marked memory only (``/sys/kernel/mm/transparent_hugepage/enabled`` set to
    ``madvise``, as here), each first touch of such an array waits for the kernel to find and zero
    a free 2 MB page: on these machines about 10 ms of system CPU a MB, against under 1 ms in
    ordinary pages. A check's large arrays (the frames' blocks, the sound, the models' inputs) are
    written once and read a few times: the first touches cost more than huge pages save.
    """
    return _unless_chosen(environ, "NUMPY_MADVISE_HUGEPAGE", "0")


def _unless_chosen(environ: MutableMapping[str, str], name: str, value: str) -> bool:
    """``environ[name] = value`` unless the caller set ``name``; True when this call set it."""
    if name in environ:
        return False
    environ[name] = value
    return True
