"""The baseline: a Litestar endpoint that only answers ``success`` (no verification, no storage)."""

from litestar import Litestar, MediaType, post


@post("/webhooks/channels/{store_key:str}", media_type=MediaType.TEXT, status_code=200)
async def bare(store_key: str) -> str:
    return "success"


app = Litestar([bare], openapi_config=None)
