"""Writing a fact once, in the unit of work of the change it records.

A fact is appended with a unique ``key`` naming the change; writing it again (a redelivered push,
a replayed event) is a no-op. A new fact is also marked pending (``metric_fact_pending``): the
rollup applier adds it to the rollups moments later (:func:`desk.metrics.rollups.apply_pending`),
so the change's transaction takes no lock another change could be waiting for.
"""

from __future__ import annotations

import functools

import msgspec
import sqlalchemy as sa

from desk.db import Work, dialect_name, insert_for
from desk.metrics.facts import Fact
from desk.metrics.models import MetricFact, MetricFactPending

__all__ = ["write_fact"]

_fact = MetricFact.__table__
_pending_insert = sa.insert(MetricFactPending.__table__)


@functools.cache
def _insert(dialect: str) -> sa.Insert:
    return (
        insert_for(dialect, _fact).on_conflict_do_nothing(index_elements=[_fact.c.key]).returning(_fact.c.id)
    )


async def write_fact(work: Work, fact: Fact) -> bool:
    """Append ``fact`` for the rollups; False (nothing written) when its key exists."""
    values = msgspec.structs.asdict(fact)
    values["kind"] = str(fact.kind)
    inserted = (await work.execute(_insert(dialect_name(work)), values)).scalar_one_or_none()
    if inserted is None:
        return False
    await work.execute(_pending_insert, {"fact_id": int(inserted)})
    return True
