"""Users, their roles and stores, and personal API tokens."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.db import Base, BigId, TimestampMixin

if TYPE_CHECKING:
    from desk.stores.models import Store

__all__ = ["ApiToken", "BackoffCounter", "Role", "User", "user_stores"]


class Role(enum.StrEnum):
    """What a user may do. Agent < manager < admin: each includes the ones before it.

    ``warehouse`` ranks below them all: it scans returned parcels (``/warehouse``, which every
    role may use) and reaches nothing else (:mod:`desk.accounts.auth` keeps it there).
    """

    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    WAREHOUSE = "warehouse"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.WAREHOUSE: -1, Role.AGENT: 0, Role.MANAGER: 1, Role.ADMIN: 2}


user_stores = sa.Table(
    "user_store",
    Base.metadata,
    sa.Column("user_id", BigId, sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("store_id", BigId, sa.ForeignKey("store.id", ondelete="CASCADE"), primary_key=True),
)


class User(TimestampMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    """Bumped when the user's password, role or access changes: sessions started before are over."""
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)

    stores: Mapped[list[Store]] = relationship(secondary=user_stores, lazy="selectin")

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def store_entity() -> Any:
    """The ``Store`` model, reached through :attr:`User.stores` rather than imported.

    The stores domain builds on this one (its pages need users and their roles), so accounts must
    not import it back: what accounts needs of stores — list them, find them for a user form —
    it queries through the mapped relationship.
    """
    return User.stores.property.mapper.class_


class ApiToken(TimestampMixin, Base):
    """A personal token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="joined")


class BackoffCounter(Base):
    """A login-throttle counter where no Redis is configured (see :mod:`desk.accounts.backoff_sql`).

    Times are Unix seconds as floats rather than timestamps: the one statement that checks and
    counts adds a wait to "now", and numbers add the same way on SQLite and PostgreSQL.
    """

    __tablename__ = "backoff_counter"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tries: Mapped[int]
    blocked_until: Mapped[float] = mapped_column(sa.Float)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
