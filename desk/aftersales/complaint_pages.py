"""The open complaints page (纠纷/投诉), ``/complaints``: managers and admins, their stores only."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.aftersales.complaints import open_complaints
from desk.path_ids import MAX_ROW_ID
from desk.stores.services import stores_visible_to

__all__ = ["ROUTES"]


@get("/complaints", name="complaints:index", include_in_schema=False, guards=[requires_role(Role.MANAGER)])
async def complaints_page(
    request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession], store: FromQuery[str] = ""
) -> Template:
    """Open complaints, the soonest deadline first; ``store`` narrows them to one store."""
    user = request.user
    stores = await stores_visible_to(db_session, user)
    store_id = int(store) if store.isdigit() and 0 < int(store) <= MAX_ROW_ID else None
    rows = await open_complaints(db_session, user, store_id=store_id)
    return Template(
        "aftersales/complaints.html", context={"rows": rows, "stores": stores, "store_id": store_id}
    )


ROUTES = [complaints_page]
