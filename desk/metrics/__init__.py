"""Store-score figures: each defined once, fed by append-only facts, read from hourly rollups.

* :mod:`~desk.metrics.window` — a store's assessment window, time zone and reply deadline.
* :mod:`~desk.metrics.consultations` — consultation opened / answered, answered in time.
* :mod:`~desk.metrics.aftersales` — completion times (negotiation paused), automatic completion.
* :mod:`~desk.metrics.orders` — paid orders, repeat purchase.
* :mod:`~desk.metrics.facts` / :mod:`~desk.metrics.record` — the facts, written in the unit of
  work of what they record.
* :mod:`~desk.metrics.rollups` — per store, agent and local hour, kept up by upserts from pending
  facts (:mod:`~desk.metrics.applier`, in worker processes); rebuilt from facts.
* :mod:`~desk.metrics.figures` — the figures read from rollups (and, for percentiles, facts).
* :mod:`~desk.metrics.backfill` — facts for what happened before they were written.

Owners call the ``note_*`` functions (``consultations.note_message`` / ``note_reply_failed``,
``aftersales.note_aftersale``, ``orders.note_order``) where they save messages, replies,
after-sales and orders, so a fact exists exactly when the change does.
"""
