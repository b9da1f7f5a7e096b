"""Change events: what changed in the desk, recorded with the change and announced after commit.

* :mod:`~desk.changes.events` — the typed events (``MessageAdded``, ``ConversationChanged`` …).
* :mod:`~desk.changes.models` — the ``change_event`` table: every event is a row written in the
  unit of work that made the change, so it is durable exactly when the change is.
* :mod:`~desk.changes.record` — :func:`record` writes the rows and, after the commit, hands the
  events to the bus.
* :mod:`~desk.changes.bus` — publishes through Litestar's ``ChannelsPlugin`` (memory, or Redis
  across processes) and delivers to this process's listeners (live pages), re-reading the table
  to catch anything a broken channel dropped.
"""
