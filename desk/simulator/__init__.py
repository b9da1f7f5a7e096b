"""A faithful simulator of the WeChat platform for desk's demo, tests and benchmarks.

It speaks the real wire protocol (``desk/platform`` clients cannot tell it from the platform):
the Channels store API and WeCom kf / contact APIs on their real paths with their JSON shapes,
errcodes and limits, and signed, encrypted pushes to each store's and corp's URL, retried on the
platform's schedule. Scenarios (a quiet afternoon, a live-stream burst) and a buyer page make it
come alive. State is in memory. It imports nothing of the desk outside ``desk.platform``.
"""

from desk.simulator.clock import ManualClock
from desk.simulator.config import SimCorp, SimStore, demo_corp, demo_store
from desk.simulator.errcodes import ApiError
from desk.simulator.faults import Faults
from desk.simulator.pushes import PushAttempt
from desk.simulator.runner import run_simulator
from desk.simulator.scenarios import SCENARIOS, ScenarioReport
from desk.simulator.simulator import Simulator
from desk.simulator.state import KfMessage, SentMessage, SimAfterSale, SimOrder
from desk.simulator.truth import GroundTruth

__all__ = [
    "SCENARIOS",
    "ApiError",
    "Faults",
    "GroundTruth",
    "KfMessage",
    "ManualClock",
    "PushAttempt",
    "ScenarioReport",
    "SentMessage",
    "SimAfterSale",
    "SimCorp",
    "SimOrder",
    "SimStore",
    "Simulator",
    "demo_corp",
    "demo_store",
    "run_simulator",
]
