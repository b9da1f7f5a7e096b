"""Store-score figures: each defined once, fed by append-only facts, read from hourly rollups.

* :mod:`~desk.metrics.window` — a store's assessment window, time zone and reply deadline.
* :mod:`~desk.metrics.consultations` — consultation opened / answered, answered in time.
* :mod:`~desk.metrics.aftersales` — completion times (negotiation paused), automatic completion.
* :mod:`~desk.metrics.orders` — paid orders, repeat purchase.
* :mod:`~desk.metrics.facts` — the facts, written in the unit of work of what they record.
* :mod:`~desk.metrics.rollups` — per store, agent and local hour, kept up by upserts; rebuilt.
* :mod:`~desk.metrics.figures` — the figures read from rollups (and, for percentiles, facts).

Owners call the ``note_*`` functions of :mod:`~desk.metrics.hooks` where they save messages,
replies, after-sales and orders, so a fact exists exactly when the change does.
"""
