"""The scan-to-return page (扫码退单): ``/warehouse``, for the warehouse role and everyone above.

The page is one autofocused box: a barcode scanner types the waybill and presses Enter, which
posts the scan (htmx, no reload) and puts its result on top of the session's list. A confirmed
scan's row then follows its outbound command (``/warehouse/scans/<id>``, polled each second while
the platform has not answered) until the refund is made or refused. Without JavaScript the form
posts normally and the page comes back with the result.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_422_UNPROCESSABLE_ENTITY
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.scan import MAX_WAYBILL_LENGTH, ScanResult, scan_return
from desk.commands.errors import describe_error
from desk.commands.models import CommandState
from desk.commands.service import command_for
from desk.errors import Invalid
from desk.runtime import Runtime

__all__ = ["ROUTES", "ScanForm"]


class ScanForm(msgspec.Struct, kw_only=True):
    waybill: str = ""
    after_sale_order_id: str = ""
    """Set when the user picked one of several after-sales awaiting the same parcel."""


@get("/warehouse", name="warehouse:index", include_in_schema=False)
async def warehouse_page() -> Template:
    """The scan box and this session's (empty) list of scans."""
    return Template("aftersales/warehouse.html", context=_page_context())


@post("/warehouse/scan", name="warehouse:scan", include_in_schema=False, status_code=HTTP_200_OK)
async def scan(
    request: HTMXRequest,
    db_session: NamedDependency[AsyncSession],
    data: Annotated[ScanForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Confirm receipt of the scanned parcel; the result as a row of the list (htmx) or the page."""
    user: User = request.user
    runtime: Runtime = request.app.state.runtime
    result = await scan_return(
        db_session,
        runtime.wakeup,
        user=user,
        waybill=data.waybill[: MAX_WAYBILL_LENGTH * 2],
        after_sale_order_id=data.after_sale_order_id.strip()[:32],
    )
    status = HTTP_422_UNPROCESSABLE_ENTITY if isinstance(result, Invalid) else HTTP_200_OK
    row = _row_context(data.waybill, result)
    if request.htmx:
        return Template("aftersales/_scan_row.html", context=row, status_code=status)
    return Template("aftersales/warehouse.html", context=_page_context(first=row), status_code=status)


@get("/warehouse/scans/{command_id:int}", name="warehouse:scan_state", include_in_schema=False)
async def scan_state(
    request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession], command_id: FromPath[int]
) -> Template:
    """How the refund of a confirmed scan stands (the row polls this until it is settled)."""
    command = await command_for(db_session, command_id)
    allowed = store_ids_for(request.user)
    if command is None or not command.subject.startswith("aftersale:"):
        raise NotFoundException()
    if allowed is not None and command.store_id not in allowed:
        raise NotFoundException()
    return Template("aftersales/_scan_state.html", context=_state_context(command))


def _page_context(first: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"max_length": MAX_WAYBILL_LENGTH, "first": first}


def _row_context(typed: str, result: ScanResult | Invalid) -> dict[str, Any]:
    if isinstance(result, Invalid):
        typed = typed.strip()[:MAX_WAYBILL_LENGTH]
        return {"typed": typed, "result": None, "error": result.errors["waybill"]}
    return {"typed": result.waybill, "result": result, "error": None}


def _state_context(command: Any) -> dict[str, Any]:
    settled = command.state in (CommandState.SUCCEEDED, CommandState.FAILED)
    problem = (
        describe_error(command.error_code, command.last_error or "")
        if command.state is CommandState.FAILED
        else None
    )
    return {
        "command_id": command.id,
        "state": command.state.value,
        "settled": settled,
        "platform_status": (command.result or {}).get("status", ""),
        "problem": problem,
    }


ROUTES = [warehouse_page, scan, scan_state]
