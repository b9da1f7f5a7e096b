"""The simulator's Litestar app: the platform API on its real paths, its own pages under ``/sim``
(overview, buyer page, fault controls).

API requests are answered by :func:`~desk.simulator.api.answer_call` from the endpoint
tables; the handlers here only translate HTTP (path, method, query, body, multipart) into a call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response, route
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.template.config import TemplateConfig

from desk.simulator import buyer_page, fault_controls, overview_page
from desk.simulator.api import ApiAnswer, ApiContext, Endpoint, Upload, answer_call
from desk.simulator.channels_api import CHANNELS_ENDPOINTS, TOKEN_ENDPOINTS
from desk.simulator.wecom_api import WECOM_ENDPOINTS

if TYPE_CHECKING:
    from desk.simulator.simulator import Simulator

__all__ = ["create_app"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CGI_BIN_ENDPOINTS: dict[str, Endpoint] = {**TOKEN_ENDPOINTS, **WECOM_ENDPOINTS}
MAX_BODY = 40 * 1024 * 1024
"""Above cosupload's 30 MB, so a too-large file gets the platform's errcode rather than a 413."""

_JSON = "application/json; encoding=utf-8"


def _response(answer: ApiAnswer) -> Response[bytes]:
    media_type = _JSON if answer.body.startswith(b"{") else "text/html"
    return Response(content=answer.body, status_code=answer.status_code, media_type=media_type)


async def _form(request: Request[Any, Any, Any]) -> dict[str, str | Upload]:
    form = await request.form()
    fields: dict[str, str | Upload] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            fields[key] = Upload(filename=value.filename, size=len(await value.read()))
        else:
            fields[key] = str(value)
    return fields


@route("/channels/ec/{path:path}", http_method=["GET", "POST"], include_in_schema=False)
async def channels_api(request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes]:
    context: ApiContext = request.app.state.api
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    form = await _form(request) if multipart else None
    body = b"" if multipart else await request.body()
    answer = await answer_call(
        context,
        CHANNELS_ENDPOINTS,
        path=path.strip("/"),
        method=request.method,
        query=request.query_params,
        body=body,
        form=form,
    )
    return _response(answer)


@route("/cgi-bin/{path:path}", http_method=["GET", "POST"], include_in_schema=False)
async def cgi_bin_api(request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes]:
    context: ApiContext = request.app.state.api
    body = await request.body()
    answer = await answer_call(
        context,
        CGI_BIN_ENDPOINTS,
        path=path.strip("/"),
        method=request.method,
        query=request.query_params,
        body=body,
    )
    return _response(answer)


@route("/", http_method=["GET"], include_in_schema=False)
async def root() -> Redirect:
    return Redirect("/sim/")


def create_app(sim: Simulator) -> Litestar:
    """The app for one simulator (its state travels in ``app.state``)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True)
    )
    buyer_page.register_filters(environment)
    return Litestar(
        route_handlers=[
            channels_api,
            cgi_bin_api,
            root,
            *overview_page.ROUTES,
            *buyer_page.ROUTES,
            *fault_controls.ROUTES,
        ],
        state=State({"sim": sim, "api": sim.api}),
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        request_max_body_size=MAX_BODY,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
