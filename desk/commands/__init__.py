"""Outbound commands: every change the desk asks of the platform, stored first, run by the worker.

* :mod:`~desk.commands.models` — the ``outbound_command`` table and its states.
* :mod:`~desk.commands.kinds` — what a kind of command is (run on the platform, then settle).
* :mod:`~desk.commands.service` — :func:`enqueue` (idempotent on the caller's key) and reads.
* :mod:`~desk.commands.runner` — the background service that claims and runs them.

A web request never calls the platform: it stores the intent with an idempotency key in its own
transaction and answers at once. The runner makes the call, records the outcome and publishes it.
Nothing a user typed is lost when the platform fails, and no retry changes anything twice.
"""
