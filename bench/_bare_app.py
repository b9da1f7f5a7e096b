"""The baseline: a Litestar endpoint that only answers ``success`` (no verification, no storage).

It runs under the same server settings as desk (uvicorn, one process, the same collector tuning),
so the ratio between the two is the cost of desk's durable path alone.
"""

import sys
from pathlib import Path

from litestar import Litestar, MediaType, post
from litestar.params import FromPath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from desk.gc_tuning import tune_for_service


@post("/webhooks/channels/{store_key:str}", media_type=MediaType.TEXT, status_code=200)
async def bare(store_key: FromPath[str]) -> str:
    return "success"


app = Litestar([bare], openapi_config=None, on_startup=[tune_for_service])
