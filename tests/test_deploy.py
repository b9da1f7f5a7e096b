"""The production footprint as written in docker-compose.yml, Dockerfile and .env.example.

No Docker engine runs here, so these read the files and check what an operator relies on: the
services exist, each has a health check, the app runs as two replicas with the worker separate,
and the environment wires every process to the same PostgreSQL and Redis with settings desk knows.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from desk.proxies import parse_trusted_proxies
from desk.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_ENV = {"POSTGRES_PASSWORD": "pw", "DESK_SECRET_KEY": "k" * 48}


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} forms, and $$ escapes."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg or ""

    text = re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", value, text)
    return text.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(_interpolate((ROOT / "docker-compose.yml").read_text(), COMPOSE_ENV))


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return {k: str(v) for k, v in env.items()}


def test_required_secrets_must_be_set() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        _interpolate((ROOT / "docker-compose.yml").read_text(), {})


def test_services_and_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "app", "worker"} <= services.keys()
    for name in ("postgres", "redis", "app", "proxy"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["app"]["deploy"]["replicas"] == 2
    assert "/healthz" in " ".join(services["app"]["healthcheck"]["test"])
    assert services["worker"]["command"] == ["desk", "worker"]


def test_app_and_worker_share_database_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app, worker, migrate = (_env(services[n]) for n in ("app", "worker", "migrate"))
    assert app["DESK_DATABASE_URL"] == worker["DESK_DATABASE_URL"] == migrate["DESK_DATABASE_URL"]
    url = make_url(app["DESK_DATABASE_URL"])
    assert (url.drivername, url.host, url.database) == ("postgresql+asyncpg", "postgres", "desk")
    assert url.password == COMPOSE_ENV["POSTGRES_PASSWORD"]
    assert app["DESK_REDIS_URL"] == worker["DESK_REDIS_URL"] == "redis://redis:6379/0"
    # Web replicas leave events to the worker service instead of each running an embedded one.
    assert app["DESK_WORKER"] == "off"
    assert worker.get("DESK_WORKER", "embedded") != "off"
    for name in ("app", "worker"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_every_desk_variable_is_a_setting_desk_accepts(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        env = {k: v for k, v in _env(service).items() if k.startswith("DESK_")}
        if env:
            load_settings(env)  # raises SettingsError on an unknown name or a bad value
        assert all(not k.startswith("DESK_") or v for k, v in env.items()), name
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    load_settings({k: v for k, v in example.items() if k.startswith("DESK_")})
    # Everything compose requires from .env is in the example.
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert required <= example.keys()


def test_image_contains_what_the_app_reads_at_run_time() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("desk", "migrations", "templates", "static"):
        assert re.search(rf"^COPY {folder} {folder}$", dockerfile, re.M), folder
    assert re.search(r"^USER (?!root)", dockerfile, re.M), "the container must not run as root"


def test_the_app_believes_forwarded_headers_from_the_proxy_only(compose: dict[str, Any]) -> None:
    services, networks = compose["services"], compose["networks"]
    trusted = parse_trusted_proxies(_env(services["app"])["DESK_TRUSTED_PROXIES"])
    proxy_networks = services["proxy"]["networks"]
    ((network, where),) = proxy_networks.items()
    proxy_address = ipaddress.ip_address(where["ipv4_address"])
    # The proxy's fixed address is what the app trusts, and nothing wider…
    assert [str(n) for n in trusted] == [f"{proxy_address}/32"]
    # …on a network the app is on (besides the default one, for PostgreSQL and Redis), whose
    # subnet holds that address.
    assert set(services["app"]["networks"]) == {"default", network}
    (subnet,) = (ipaddress.ip_network(c["subnet"]) for c in networks[network]["ipam"]["config"])
    assert proxy_address in subnet
    # nginx appends the address it saw, and says which scheme it was reached by.
    nginx = compose["configs"]["nginx_conf"]["content"]
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
