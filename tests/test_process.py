"""Process-wide settings."""

import platform

import pytest

from preflight.process import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_glibc_takes_the_arena_limit():
    assert limit_malloc_arenas(2) is True

