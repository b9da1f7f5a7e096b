"""The simulator's overview page, ``/sim/``, and the forms on it (Simplified Chinese).

Stores (with what each sells), corps, ground-truth figures, the latest pushes and how the desk
answered them; buttons to start a scenario or scan a WeCom contact code; and the fault controls
(:mod:`.fault_controls`) that make the platform fail calls, refuse tokens or lose pushes. Forms
post and redirect back; a refused fault form is shown again as typed, with its error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from desk.simulator import catalog
from desk.simulator.fault_controls import (
    CLEAR,
    FAULT_KIND_LABELS,
    FaultStatus,
    apply_faults,
    fault_status,
    form_settings,
)
from desk.simulator.faults import FAULT_KINDS
from desk.simulator.state import AFTERSALE_OPEN_STATUSES
from desk.simulator.world import UnknownObjectError

if TYPE_CHECKING:
    from desk.simulator.pushes import PushAttempt
    from desk.simulator.simulator import Simulator

__all__ = ["ROUTES"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class ScenarioForm(msgspec.Struct):
    name: str
    orders_per_minute: float | None = None
    duration_s: float | None = None


class ContactForm(msgspec.Struct):
    corpid: str
    config_id: str


def _sim(request: Request[Any, Any, Any]) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def _push_rows(sim: Simulator, limit: int = 60) -> list[PushAttempt]:
    log = sim.dispatcher.log
    return [log[i] for i in range(len(log) - 1, max(-1, len(log) - 1 - limit), -1)]


def _fault_form(status: FaultStatus) -> dict[str, Any]:
    """The fault form's fields showing the settings in force."""
    return {
        "api_error_percent": f"{status.api_error_percent:g}",
        "api_error_kinds": status.api_error_kinds,
        "token_calls_fail": status.token_calls_fail,
        "drop_next_pushes": str(status.drop_next_pushes),
        "drop_push_percent": f"{status.drop_push_percent:g}",
    }


def _typed_fault_form(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The fault form's fields as the user typed them (shown again beside their error)."""
    form: dict[str, Any] = {"api_error_kinds": [], "token_calls_fail": False}
    for key, value in fields:
        if key == "api_error_kinds":
            form[key].append(value)
        elif key == "token_calls_fail":
            form[key] = True
        else:
            form[key] = value
    return form


def _index_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    sim = _sim(request)
    task = sim.scenario_task
    faults = fault_status(sim)
    return {
        "active": "index",
        "sim": sim,
        "stores": list(sim.world.stores.values()),
        "corps": list(sim.world.corps.values()),
        "counts": sim.ground_truth().counts(),
        "pushes": _push_rows(sim),
        "outcomes": sim.dispatcher.outcomes,
        "pending": sim.dispatcher.pending,
        "api_calls": sim.api.calls,
        "faults_injected": sum(sim.faults.injected.values()),
        "scenario_running": task is not None and not task.done(),
        "report": sim.last_report,
        "open_statuses": AFTERSALE_OPEN_STATUSES,
        "category_label": catalog.category_label,
        "faults": faults,
        "fault_form": _fault_form(faults),
        "fault_kinds": FAULT_KIND_LABELS,
        "api_fault_kinds": FAULT_KINDS,
        "fault_error": "",
        "error": request.query_params.get("error", ""),
    }


@get("/sim/", name="sim:index", include_in_schema=False)
async def index(request: Request[Any, Any, Any]) -> Template:
    return Template("index.html", context=_index_context(request))


@get("/sim/pushes", name="sim:pushes", include_in_schema=False)
async def pushes(request: Request[Any, Any, Any]) -> Template:
    return Template("_pushes.html", context=_index_context(request))


@post("/sim/scenario", name="sim:scenario", include_in_schema=False)
async def start_scenario(request: Request[Any, Any, Any], data: Annotated[ScenarioForm, Form]) -> Redirect:
    options = {
        k: v
        for k, v in {"orders_per_minute": data.orders_per_minute, "duration_s": data.duration_s}.items()
        if v
    }
    try:
        _sim(request).start_scenario(data.name, **options)
    except (RuntimeError, ValueError) as exc:
        return Redirect(f"/sim/?{urlencode({'error': str(exc)})}")
    return Redirect("/sim/")


@post("/sim/scenario/stop", name="sim:scenario-stop", include_in_schema=False)
async def stop_scenario(request: Request[Any, Any, Any]) -> Redirect:
    task = _sim(request).scenario_task
    if task is not None:
        task.cancel()
    return Redirect("/sim/")


@post("/sim/contact", name="sim:contact", include_in_schema=False)
async def scan_contact_way(request: Request[Any, Any, Any], data: Annotated[ContactForm, Form]) -> Redirect:
    try:
        _sim(request).add_external_contact(data.corpid, data.config_id)
    except UnknownObjectError as exc:
        return Redirect(f"/sim/?{urlencode({'error': str(exc)})}")
    return Redirect("/sim/")


@post("/sim/faults", name="sim:faults", include_in_schema=False)
async def set_faults(request: Request[Any, Any, Any]) -> Redirect | Template:
    # Read as pairs rather than a Struct: ticked boxes repeat a name, unticked ones are absent.
    fields = [(key, str(value)) for key, value in (await request.form()).multi_items()]
    try:
        apply_faults(_sim(request), form_settings(fields))
    except ValueError as exc:
        context = _index_context(request) | {"fault_form": _typed_fault_form(fields), "fault_error": str(exc)}
        return Template("index.html", context=context, status_code=400)
    return Redirect("/sim/#faults")


@post("/sim/faults/clear", name="sim:faults-clear", include_in_schema=False)
async def clear_faults(request: Request[Any, Any, Any]) -> Redirect:
    apply_faults(_sim(request), CLEAR)
    return Redirect("/sim/#faults")


ROUTES = [index, pushes, start_scenario, stop_scenario, scan_contact_way, set_faults, clear_faults]
