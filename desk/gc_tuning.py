"""Garbage-collector settings for desk's long-running processes (web app, worker, demo).

CPython's cyclic collector starts a generation-0 pass every 700 net allocations. Handling a push
allocates a few hundred objects, so under load the collector ran every few pushes, and its full
passes — which walk every object the process holds — stalled requests for tens of milliseconds:
they were most of the push path's p99. Reference counting still frees almost every object the
moment it is unused; only reference cycles wait for the collector, so collecting less often costs
little memory.
"""

from __future__ import annotations

import gc

__all__ = ["tune_for_service"]

GEN0_THRESHOLD = 50_000


def tune_for_service() -> None:
    """Call once start-up is done: hide start-up objects from the collector, collect less often.

    Modules, routes, templates and settings never become garbage; ``gc.freeze()`` moves them to a
    generation the collector never scans, so each collection only walks what requests created.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 20, 20)
