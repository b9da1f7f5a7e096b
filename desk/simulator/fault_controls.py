"""Fault controls: make the simulated platform misbehave on demand, from its overview page or over HTTP.

What can be turned on — each shows a different recovery path of the desk:

* **a share of API calls fail** (HTTP 500, "system error", no answer, a late answer): the desk's
  clients retry, and an event whose fetch keeps failing is retried later by the worker;
* **token calls fail**: once its token is refused the desk can call nothing, so events are
  retried and finally parked — turning it on also expires every token already issued, or a desk
  holding a valid token would notice nothing for two hours;
* **pushes are lost** (the next N, or a share at random): they never arrive and are never retried,
  so only the desk's reconciliation finds what they said.

``GET /sim/api/faults`` answers the settings and the counters; ``POST /sim/api/faults`` takes a
JSON object with any of the settings (a field left out stays as it is) and answers the same; a
bad one is refused with a 400 and its reason. The overview page (:mod:`.overview_page`) has a
form for the same settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import JSONBody

from desk.simulator.faults import FAULT_KINDS, TOKEN_FAULT

if TYPE_CHECKING:
    from desk.simulator.simulator import Simulator

__all__ = [
    "CLEAR",
    "FAULT_KIND_LABELS",
    "ROUTES",
    "FaultSettings",
    "FaultStatus",
    "apply_faults",
    "fault_status",
    "form_settings",
]

FaultKind = Literal["http500", "busy", "timeout", "late_reply"]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]

FAULT_KIND_LABELS: dict[str, str] = {
    "http500": "HTTP 500",
    "busy": "系统繁忙（errcode -1）",
    "timeout": "超时无应答",
    "late_reply": "超时但已执行",
    TOKEN_FAULT: "获取令牌失败",
}
"""How the overview page names each kind of injected fault."""


class FaultSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fault settings to change; a field that is None (or left out of the JSON) stays as it is."""

    api_error_percent: Percent | None = None
    """Share of API calls that fail, in percent (token calls included)."""
    api_error_kinds: list[FaultKind] | None = None
    """How they fail; at least one kind while the share is above zero."""
    token_calls_fail: bool | None = None
    drop_next_pushes: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    """How many of the next pushes to lose (replaces what is still pending)."""
    drop_push_percent: Percent | None = None
    """Share of the other pushes lost at random, in percent."""


class FaultStatus(msgspec.Struct, kw_only=True):
    """The settings in force and what they did so far."""

    api_error_percent: float
    api_error_kinds: list[str]
    token_calls_fail: bool
    drop_next_pushes: int
    """Pushes still to be lost."""
    drop_push_percent: float
    api_calls: int
    """API calls answered so far (token calls included)."""
    injected: dict[str, int]
    """Faults injected so far, by kind (``token`` for failed token calls)."""
    pushes: dict[str, int]
    """Pushes so far by outcome: ``acked``, ``given_up``, ``dropped``."""

    @property
    def active(self) -> bool:
        """Whether anything is set to fail."""
        return bool(
            self.api_error_percent or self.token_calls_fail or self.drop_next_pushes or self.drop_push_percent
        )


CLEAR = FaultSettings(  # everything off
    api_error_percent=0, token_calls_fail=False, drop_next_pushes=0, drop_push_percent=0
)


def apply_faults(sim: Simulator, settings: FaultSettings) -> FaultStatus:
    """Put ``settings`` in force and answer the resulting status.

    Raises ValueError (nothing changed) for a value out of range, or when failing calls are asked
    for without a kind. Turning token failures on expires every token issued so far (see the
    module docstring).
    """
    faults, dispatcher = sim.faults, sim.dispatcher
    rate = faults.error_rate if settings.api_error_percent is None else settings.api_error_percent / 100
    kinds = tuple(settings.api_error_kinds) if settings.api_error_kinds is not None else faults.kinds
    if not kinds:
        if rate > 0:
            raise ValueError("选择至少一种 API 故障类型（api_error_kinds）")
        kinds = faults.kinds  # nothing fails: keep the kinds for next time
    drop_rate = (
        dispatcher.drop_rate if settings.drop_push_percent is None else settings.drop_push_percent / 100
    )
    drop_next = dispatcher.drop_pending if settings.drop_next_pushes is None else settings.drop_next_pushes
    # Structs built in Python skip the Meta bounds that decoding checks: check before changing anything.
    if not 0 <= drop_rate <= 1:
        raise ValueError(f"推送丢弃比例须在 0–100% 之间（drop_push_percent），不是 {drop_rate * 100:g}")
    if drop_next < 0:
        raise ValueError(f"丢弃条数不能为负（drop_next_pushes），不是 {drop_next}")
    token_was_failing = faults.token_calls_fail
    faults.configure(error_rate=rate, kinds=kinds, token_calls_fail=settings.token_calls_fail)  # checks first
    if faults.token_calls_fail and not token_was_failing:
        sim.tokens.expire_all()
    dispatcher.drop_pending = drop_next
    dispatcher.set_drop_rate(drop_rate)
    return fault_status(sim)


def fault_status(sim: Simulator) -> FaultStatus:
    """The fault settings in force and the counters since the simulator started."""
    faults, dispatcher = sim.faults, sim.dispatcher
    return FaultStatus(
        api_error_percent=round(faults.error_rate * 100, 2),
        api_error_kinds=list(faults.kinds),
        token_calls_fail=faults.token_calls_fail,
        drop_next_pushes=dispatcher.drop_pending,
        drop_push_percent=round(dispatcher.drop_rate * 100, 2),
        api_calls=sim.api.calls,
        injected={kind: faults.injected[kind] for kind in (*FAULT_KINDS, TOKEN_FAULT)},
        pushes={outcome: dispatcher.outcomes[outcome] for outcome in ("acked", "given_up", "dropped")},
    )


def form_settings(fields: Iterable[tuple[str, str]]) -> FaultSettings:
    """The overview form's fields as settings: the form sends every setting, so an unticked box
    means off (no kinds, no token failures) and an emptied number means zero.

    Raises ValueError with the field at fault.
    """
    raw: dict[str, Any] = {"api_error_kinds": [], "token_calls_fail": False}
    for key, value in fields:
        if key == "api_error_kinds":
            raw[key].append(value)
        elif key == "token_calls_fail":
            raw[key] = True
        else:
            raw[key] = value.strip() or "0"
    try:
        return msgspec.convert(raw, FaultSettings, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"故障设置无效：{exc}") from None


def _sim(request: Request[Any, Any, Any]) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


@get("/sim/api/faults", name="sim:faults-api", include_in_schema=False)
async def faults_api(request: Request[Any, Any, Any]) -> FaultStatus:
    return fault_status(_sim(request))


@post("/sim/api/faults", name="sim:faults-api-set", include_in_schema=False, status_code=200)
async def set_faults_api(request: Request[Any, Any, Any], data: JSONBody[FaultSettings]) -> Response[Any]:
    try:
        status = apply_faults(_sim(request), data)
    except ValueError as exc:
        return Response({"status_code": 400, "detail": str(exc)}, status_code=400)
    return Response(status)


ROUTES = [faults_api, set_faults_api]
