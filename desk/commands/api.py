"""``/api/v1/commands``: where a change asked of the platform stands (token auth, store-scoped)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import get_scoped
from desk.api import api_language
from desk.commands.errors import describe_error
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.schemas import CommandOut

__all__ = ["ROUTES", "CommandsApiController"]


class CommandsApiController(Controller):
    path = "/api/v1/commands"
    tags = ["commands"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/{command_id:int}", name="api:commands:get")
    async def get_command(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        command_id: FromPath[int],
    ) -> CommandOut:
        """The command (e.g. the `command_id` a reply answered with): its state, tries and, when
        the platform refused, the errcode and what it means. 404 outside your stores."""
        command = await get_scoped(
            db_session, OutboundCommand, request.user, OutboundCommand.id == command_id
        )
        error = ""
        if command.state is not CommandState.SUCCEEDED and (
            command.error_code is not None or command.last_error
        ):
            error = describe_error(command.error_code, command.last_error or "").render(api_language(request))
        return CommandOut.of(command, error)


ROUTES = [CommandsApiController]
