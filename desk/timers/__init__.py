"""Durable timers: "do this at that time", kept in the database so a restart loses none.

Used for what must happen when time passes rather than when something arrives: an offline
agent's unanswered conversations going back to the pool, auto-resolving idle conversations, rule
triggers such as ``conversation.waiting`` (a buyer waiting N seconds). A timer has a ``key``
unique across the desk, so scheduling the same thing again moves it instead of doubling it, and a
human reply can cancel the waiting timer by its key. Due times follow the runtime's clock.
"""
