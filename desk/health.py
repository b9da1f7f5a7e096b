"""``/healthz``: is the database reachable, and Redis when configured (for load balancers)."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from desk.runtime import Runtime

__all__ = ["Health", "healthz"]

Check = Literal["ok", "down", "not configured"]


class Health(msgspec.Struct):
    status: Literal["ok", "degraded"]
    database: Check
    redis: Check


@get("/healthz", name="healthz")
async def healthz(state: State) -> Response[Health]:
    runtime: Runtime = state.runtime
    database: Check = "ok"
    redis: Check = "not configured"
    try:
        await runtime.db.ping()
    except Exception:  # the probe reports any failure; details go to the logs, not the network
        database = "down"
    if runtime.redis is not None:
        try:
            await runtime.redis.ping()
            redis = "ok"
        except Exception:
            redis = "down"
    ok = database == "ok" and redis != "down"
    return Response(
        Health(status="ok" if ok else "degraded", database=database, redis=redis),
        status_code=200 if ok else 503,
    )
