"""The compiled loops' decorator: compiled anew where numba cannot write its cache (installed
read-only for a user with no writable home), never an import that fails."""
from __future__ import annotations

import numba
import pytest

from streamer_core.compiled import compiled


def uncacheable(source: str):
    """A function whose source file numba cannot find, so that no cache folder is available for it:
    as for a module installed read-only for a user without a writable home."""
    namespace: dict = {}
    exec(compile(source, "<nowhere>", "exec"), namespace)
    return namespace["twice"]


SOURCE = "def twice(x):\n    return 2 * x\n"


def test_without_a_cache_folder_the_loop_is_compiled_anew_and_runs():
    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit("float64(float64)", cache=True)(uncacheable(SOURCE))  # what the import met before
    twice = compiled("float64(float64)")(uncacheable(SOURCE))
    assert twice(1.5) == 3.0 and twice.signatures  # compiled on decoration, for the one signature

