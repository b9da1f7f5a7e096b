"""Where a redirect taken from the request (``next``, ``Referer``) may go: only this site."""

from __future__ import annotations

__all__ = ["local_path"]


def local_path(target: str, *, base_url: str = "") -> str:
    """``target`` if it is a path on this site (an absolute URL under ``base_url`` is cut to its
    path), else ``/``.

    An attacker's link must not turn our pages into an open redirect: ``//evil.example`` and
    ``/\\evil.example`` are both read by browsers as another host.
    """
    base = base_url.rstrip("/")
    if base and target.startswith(base + "/"):
        target = target.removeprefix(base)
    if target.startswith("/") and not target.startswith(("//", "/\\")) and target.isprintable():
        return target
    return "/"
