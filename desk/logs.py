"""Logging set-up shared by the web app, the worker and the CLI."""

from __future__ import annotations

import logging

__all__ = ["configure_logging"]

# httpx logs every request URL at INFO, and the platforms' token endpoints take the app secret
# in the query string (GET /cgi-bin/token?…&secret=…): keep those lines out of the logs.
_QUIET = ("httpx", "httpcore")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())  # also when something configured handlers first
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
