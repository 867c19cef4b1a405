"""numba's compiler, for the few loops that tensor operations do badly (streamer_core.histograms,
streamer_core.refine's PELT)."""
from __future__ import annotations

from collections.abc import Callable

import numba


def compiled(signature: str, **options) -> Callable[[Callable], Callable]:
    """numba.njit for one ``signature``, compiled on import (not in a job's first batch), kept in
    numba's cache where one can be written (beside the source, else in the user's cache folder),
    else compiled anew in each process (about a second). Why the fallback: installed read-only for a
    user with no writable home (a locked-down container), the cache made the import fail."""
    def decorate(function: Callable) -> Callable:
        try:
            return numba.njit(signature, cache=True, nogil=True, **options)(function)
        except RuntimeError:  # numba: "cannot cache function ...: no locator available"
            return numba.njit(signature, nogil=True, **options)(function)
    return decorate
