"""``desk users …`` and ``desk tokens …``: accounts and API tokens from the command line.

Whoever runs these operates the server, so they act as an admin: they create users of any role
and issue API tokens (a token acts as its user, with that user's role and stores).
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from desk.accounts.models import Role, User
from desk.accounts.services import NewUserForm, UserService
from desk.accounts.tokens import issue_token, list_tokens, revoke_token
from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.errors import Invalid

__all__ = ["tokens", "users"]

MAX_TOKEN_NAME = 64
# Form fields as the operator knows them: the command's options.
USER_OPTIONS = {
    "username": "USERNAME",
    "display_name": "--display-name",
    "role": "--role",
    "stores": "--store",
}


def _format_when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


@main.group()
def users() -> None:
    """Desk users: agents, managers and admins."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="What the user may do."
)
@click.option("--display-name", default="", help="Name colleagues see (default: the username).")
@click.option(
    "--store",
    "store_refs",
    multiple=True,
    metavar="KEY_OR_NAME",
    help="A store the user works for (repeatable; admins see every store anyway).",
)
@click.option(
    "--password",
    default=None,
    help="Initial password (default: prompt, which keeps it out of shell history).",
)
def users_create(
    username: str, role: str, display_name: str, store_refs: tuple[str, ...], password: str | None
) -> None:
    """Create a user."""
    settings = load_cli_settings()
    if password is None:
        password = _read_password()

    async def create() -> User:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            store_ids = []
            for ref in store_refs:
                store = await UserService(session).find_store(ref)
                if store is None:
                    raise fail(f"--store: no store has the key or name {ref!r}")
                store_ids.append(str(store.id))
            form = NewUserForm(
                username=username, display_name=display_name, role=role, stores=store_ids, password=password
            )
            result = await UserService(session).create(form)
            if isinstance(result, Invalid):
                raise fail(result.one_line({**USER_OPTIONS, "password": "--password"}))
            return result

    user = run(create())
    stores = ", ".join(s.name for s in user.stores) or ("all" if user.is_admin else "none")
    click.echo(f"created {user.role.value} {user.username!r} (id {user.id}; stores: {stores})")


def _read_password() -> str:
    """The new user's password: prompted twice on a terminal, else the first line of stdin.

    ``echo "$PW" | desk users create …`` must work in scripts: there is no echo to hide and no
    second line to confirm with, and getpass would warn that it cannot control the terminal.
    """
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail("--password: none given and the first line of standard input is empty")
    return password


@users.command("list")
def users_list() -> None:
    """List users with their role, stores and status."""
    settings = load_cli_settings()

    async def fetch() -> list[User]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            return await UserService(session).list_users()

    for user in run(fetch()):
        stores = "all" if user.is_admin else ", ".join(s.name for s in user.stores) or "-"
        status = "active" if user.is_active else "deactivated"
        click.echo(f"{user.id:>5}  {user.username:<20} {user.role.value:<8} {status:<12} {stores}")


@main.group()
def tokens() -> None:
    """Personal API tokens for /api/v1 (Authorization: Bearer desk_…)."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="The user the token acts as (with their stores).")
@click.option("--name", required=True, help="What the token is for, e.g. 'ERP sync'.")
def tokens_create(username: str, name: str) -> None:
    """Issue a token. It is printed once and cannot be shown again."""
    settings = load_cli_settings()
    name = name.strip()
    if not name or len(name) > MAX_TOKEN_NAME:
        raise fail(f"--name: give 1–{MAX_TOKEN_NAME} characters saying what the token is for")

    async def create() -> tuple[str, User]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            user = await UserService(session).by_username(username)
            if user is None or not user.is_active:
                raise fail(f"--user: no active user named {username!r}")
            token, _ = await issue_token(session, user, name)
            return token, user

    token, user = run(create())
    click.echo(token)
    note = f"token {name!r} acts as {user.username} ({user.role.value})"
    click.echo(f"{note}; store it now, it will not be shown again.", err=True)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (their prefix only) with their user and when they were last used."""
    settings = load_cli_settings()

    async def fetch() -> list[tuple[int, str, str, str, str, str]]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            return [
                (
                    row.id,
                    row.prefix + "…",
                    row.user.username,
                    row.name,
                    _format_when(row.last_used_at),
                    "revoked" if row.revoked_at else "live",
                )
                for row in await list_tokens(session)
            ]

    for token_id, prefix, username, name, last_used, state in run(fetch()):
        click.echo(f"{token_id:>5}  {prefix:<14} {username:<20} {state:<8} last used {last_used:<16}  {name}")


@tokens.command("revoke")
@click.argument("token_ref", metavar="ID_OR_PREFIX")
def tokens_revoke(token_ref: str) -> None:
    """Revoke a token by its id or the prefix `desk tokens list` shows."""
    settings = load_cli_settings()
    ref = token_ref.removesuffix("…")

    async def revoke() -> str | None:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            row = await revoke_token(session, ref)
            return row.name if row else None

    name = run(revoke())
    if name is None:
        raise fail(f"no live token with id or prefix {token_ref!r}")
    click.echo(f"revoked token {name!r}")
