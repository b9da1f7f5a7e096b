"""Change events are written with the change and announced only once it is committed."""

from __future__ import annotations

import sqlalchemy as sa

from desk.changes.events import ConversationChanged, MessageAdded, decode_change
from desk.changes.models import ChangeEvent
from desk.changes.record import record
from desk.db import PostCommit
from desk.runtime import Runtime


def _message(store_id: int, n: int) -> MessageAdded:
    return MessageAdded(store_id=store_id, conversation_id=1, message_id=n, sender="buyer")


async def test_a_committed_session_publishes_its_events_with_their_row_ids(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    async with runtime.changes.listen(None) as listener:
        async with runtime.db.session() as session:
            ids = await record(session, _message(store.id, 7), _message(store.id, 8))
            assert listener.queue.empty()  # not before the commit
        got = [await listener.get(timeout=2), await listener.get(timeout=2)]
    assert [item[0] for item in got if item] == ids
    assert [item[1].message_id for item in got if item] == [7, 8]  # type: ignore[union-attr]
    async with runtime.db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(ChangeEvent.type, ChangeEvent.payload))).all()
    assert [row.type for row in rows] == ["message.added", "message.added"]
    assert decode_change(rows[0].payload) == _message(store.id, 7)


async def test_a_rolled_back_change_leaves_no_event_and_announces_nothing(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    async with runtime.changes.listen(None) as listener:
        try:
            async with runtime.db.session() as session:
                await record(session, _message(store.id, 1))
                raise RuntimeError("the request failed")
        except RuntimeError:
            pass
        assert await listener.get(timeout=0.3) is None
    async with runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(ChangeEvent))).scalar() == 0


async def test_a_savepoint_rolled_back_drops_only_its_own_events(runtime: Runtime, make_store) -> None:
    store = await make_store()
    async with runtime.changes.listen(None) as listener:
        async with runtime.db.engine.connect() as conn:
            with PostCommit.collect(conn) as pending:
                async with conn.begin():
                    await record(conn, _message(store.id, 1))
                    mark = pending.mark()
                    try:
                        async with conn.begin_nested():
                            await record(conn, _message(store.id, 2))
                            raise ValueError("this event's handler failed")
                    except ValueError:
                        pending.rollback_to(mark)
                    await record(conn, _message(store.id, 3))
                assert listener.queue.empty()
            pending.run()
        got = []
        while (item := await listener.get(timeout=0.3)) is not None:
            got.append(item[1].message_id)  # type: ignore[union-attr]
    assert got == [1, 3]


async def test_listeners_get_only_the_stores_they_may_see(runtime: Runtime, make_store) -> None:
    mine, theirs = await make_store(), await make_store()
    async with runtime.changes.listen({mine.id}) as listener:
        async with runtime.db.session() as session:
            await record(
                session,
                ConversationChanged(store_id=theirs.id, conversation_id=1, what="waiting"),
                ConversationChanged(store_id=mine.id, conversation_id=2, what="waiting"),
            )
        first = await listener.get(timeout=2)
        assert first is not None
        assert first[1].conversation_id == 2  # type: ignore[union-attr]
        assert await listener.get(timeout=0.3) is None
