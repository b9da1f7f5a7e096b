"""``desk stores …`` and ``desk corps …``: connect stores and WeCom corps from scripts.

``desk stores add`` prints only the push URL on stdout (notes go to stderr), so a script can
capture it: ``url=$(desk stores add --name … --appid … --secret … --token … --aes-key …)``.
Adding tests the credentials against the platform first; a failed test is a warning (the store
is saved, exit status 0) unless ``--check`` makes it an error (nothing saved).
Other domains add their store commands to the :data:`stores` group.
"""

from __future__ import annotations

from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.errors import Invalid
from desk.runtime import Runtime
from desk.settings import Settings
from desk.shell.formatting import format_timestamp
from desk.stores.connection import ConnectionChecker
from desk.stores.models import ConnectionHealthMixin, Store, TokenApi, WeComCorp
from desk.stores.services import (
    CheckFailed,
    CorpForm,
    CorpService,
    StoreForm,
    StoreService,
    corp_push_url,
    find_store,
    push_url_warning,
    store_push_url,
    unreadable_secrets,
)

__all__ = ["corps", "stores"]

T = TypeVar("T", Store, WeComCorp)

# Form fields as the operator knows them: the command's options.
STORE_OPTIONS = {
    "name": "--name",
    "appid": "--appid",
    "appsecret": "--secret",
    "token": "--token",
    "aes_key": "--aes-key",
    "token_api": "--token-api",
}
CORP_OPTIONS = {
    "name": "--name",
    "corpid": "--corpid",
    "secret": "--secret",
    "token": "--token",
    "aes_key": "--aes-key",
    "default_store_id": "--default-store",
}


async def _refuse_a_foreign_key(session: AsyncSession, runtime: Runtime) -> None:
    """Stop before saving credentials with a secret key that cannot read those already saved.

    Such a key is not the one the web app and workers use (a command run with another
    ``DESK_SECRET_KEY``, or against a database whose key file is elsewhere): what it saved would
    be unreadable to them.
    """
    unreadable = await unreadable_secrets(session, runtime.secrets)
    if not unreadable:
        return
    names = [f"store {name!r}" for name in unreadable.stores]
    names += [f"corp {name!r}" for name in unreadable.corps]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise fail(
        f"the secret key in use ({runtime.secret_key_source}) cannot decrypt the saved secrets of "
        f"{len(names)} of {unreadable.total} stores and corps ({shown}), so it is not the key the "
        "rest of this desk uses and nothing was saved. Run this command with the desk's "
        "DESK_SECRET_KEY, or re-enter those secrets in Settings → Stores first."
    )


def _saved(result: T | Invalid | CheckFailed, options: dict[str, str]) -> T:
    """The saved row, or the error that stopped the save, as one line for the operator."""
    if isinstance(result, Invalid):
        raise fail(result.one_line(options))
    if isinstance(result, CheckFailed):
        raise fail(
            f"the connection test failed: {result.problem.render('en')} Nothing was saved "
            "(without --check it would have been saved with this warning)."
        )
    return result


def _warn_if_failing(account: ConnectionHealthMixin) -> None:
    problem = account.connection_problem
    if problem is not None:
        click.echo(f"warning: the connection test failed: {problem.render('en')} Saved anyway.", err=True)


CHECK_OPTION = click.option(
    "--check", is_flag=True, help="Refuse to save when the connection test fails (default: save and warn)."
)


def _warn_about_push_urls(settings: Settings) -> None:
    """The push URLs printed are the web app's (both come from DESK_PUBLIC_URL); say so when
    WeChat cannot reach them."""
    problem = push_url_warning(settings)
    if problem is not None:
        click.echo(f"warning: {problem.render('en')}", err=True)


def _connection_line(account: ConnectionHealthMixin) -> str:
    problem = account.connection_problem
    if problem is None:
        return ""
    since = format_timestamp(account.connection_error_at)
    return f"  platform calls failing since {since}: {problem.render('en')}"


@main.group()
def stores() -> None:
    """WeChat Channels stores (视频号小店)."""


@stores.command("add")
@click.option("--name", required=True, help="Store name as agents see it.")
@click.option("--appid", required=True, help="The store's AppID (wx…).")
@click.option("--secret", required=True, help="The store's AppSecret.")
@click.option("--token", required=True, help="Message push Token (3–32 letters or digits).")
@click.option("--aes-key", required=True, help="Message push EncodingAESKey (43 characters).")
@click.option(
    "--token-api",
    type=click.Choice([api.value for api in TokenApi]),
    default=TokenApi.STABLE.value,
    show_default=True,
    help="How access tokens are fetched: stable_token, or the classic /cgi-bin/token (each fetch "
    "retires the previous token; only if your setup needs it).",
)
@CHECK_OPTION
def stores_add(
    *, name: str, appid: str, secret: str, token: str, aes_key: str, token_api: str, check: bool
) -> None:
    """Connect a store and print its push URL (enter it in the store backend's 消息推送)."""
    settings = load_cli_settings()
    form = StoreForm(
        name=name,
        appid=appid,
        appsecret=secret,
        token=token,
        aes_key=aes_key,
        token_api=token_api,
        save_anyway=not check,
    )

    async def add() -> Store:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            await _refuse_a_foreign_key(session, runtime)
            service = StoreService(session, runtime.secrets, ConnectionChecker(runtime))
            return _saved(await service.create(form), STORE_OPTIONS)

    store = run(add())
    _warn_if_failing(store)
    _warn_about_push_urls(settings)
    click.echo(f"connected store {store.name!r} ({store.appid}); its push URL:", err=True)
    click.echo(store_push_url(settings, store))


@stores.command("list")
def stores_list() -> None:
    """List stores with their push URL (secrets are never printed)."""
    settings = load_cli_settings()

    async def fetch() -> list[Store]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            return await StoreService(session, runtime.secrets).list_stores()

    rows = run(fetch())
    _warn_about_push_urls(settings)
    for store in rows:
        status = "active" if store.is_active else "deactivated"
        url = store_push_url(settings, store)
        line = f"{store.id:>5}  {store.name:<20} {store.appid:<20} {status:<12} {url}"
        click.echo(line + _connection_line(store))


@main.group()
def corps() -> None:
    """WeCom (企业微信) corps."""


@corps.command("add")
@click.option("--name", required=True, help="Name as admins see it.")
@click.option("--corpid", required=True, help="The corp ID (ww…).")
@click.option("--secret", required=True, help="Secret of the app allowed to call the kf API.")
@click.option("--token", required=True, help="Callback Token (3–32 letters or digits).")
@click.option("--aes-key", required=True, help="Callback EncodingAESKey (43 characters).")
@click.option(
    "--default-store", default="", metavar="KEY_OR_NAME", help="Store for buyers arriving via WeCom kf."
)
@CHECK_OPTION
def corps_add(
    *, name: str, corpid: str, secret: str, token: str, aes_key: str, default_store: str, check: bool
) -> None:
    """Connect a WeCom corp and print its callback URL."""
    settings = load_cli_settings()

    async def add() -> WeComCorp:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            await _refuse_a_foreign_key(session, runtime)
            store_id = ""
            if default_store:
                store = await find_store(session, default_store)
                if store is None:
                    raise fail(f"--default-store: no store has the key or name {default_store!r}")
                store_id = str(store.id)
            form = CorpForm(
                name=name,
                corpid=corpid,
                secret=secret,
                token=token,
                aes_key=aes_key,
                default_store_id=store_id,
                save_anyway=not check,
            )
            service = CorpService(session, runtime.secrets, ConnectionChecker(runtime))
            return _saved(await service.create(form), CORP_OPTIONS)

    corp = run(add())
    _warn_if_failing(corp)
    _warn_about_push_urls(settings)
    click.echo(f"connected WeCom corp {corp.name!r} ({corp.corpid}); its callback URL:", err=True)
    click.echo(corp_push_url(settings, corp))


@corps.command("list")
def corps_list() -> None:
    """List WeCom corps with their callback URL (secrets are never printed)."""
    settings = load_cli_settings()

    async def fetch() -> list[WeComCorp]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            return await CorpService(session, runtime.secrets).list_corps()

    rows = run(fetch())
    _warn_about_push_urls(settings)
    for corp in rows:
        status = "active" if corp.is_active else "deactivated"
        line = f"{corp.id:>5}  {corp.name:<20} {corp.corpid:<20} {status:<12} {corp_push_url(settings, corp)}"
        click.echo(line + _connection_line(corp))
