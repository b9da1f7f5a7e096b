"""Back-off counters in Redis, shared by every app process of the production footprint.

Each counter is a hash (``tries``, ``blocked_until``, ``expires_at``) that Redis deletes once
forgotten. The check and the count run as one Lua script, which Redis executes atomically — the
same guarantee as ``INCR`` + ``EXPIRE``, with the running wait kept beside the count so that a
refused try is not counted.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from desk.accounts.backoff import FORGET_AFTER_S, Backoff, Claim

__all__ = ["RedisBackoffCounters"]

# KEYS[1]: the counter. ARGV: now, free, first_s, max_s, forget_after_s.
# Returns {1, tries} when admitted, {0, blocked_until} when refused (as strings: Redis would
# truncate Lua numbers to integers). A counter past its expires_at is forgotten even before Redis
# drops the key, so both backends agree on the clock the desk passes in.
_CLAIM = """
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'tries', 'blocked_until', 'expires_at')
local tries = tonumber(state[1]) or 0
local blocked_until = tonumber(state[2]) or 0
if (tonumber(state[3]) or 0) <= now then
  tries, blocked_until = 0, 0
end
if blocked_until > now then
  return {0, tostring(blocked_until)}
end
tries = tries + 1
local free, first, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = 0
if tries >= free then
  wait = math.min(cap, first * 2 ^ (tries - free))
end
local forget_after = tonumber(ARGV[5])
-- No wait: no blocked_until at all. ``now`` is the caller's clock, read before this script ran;
-- a try admitted just before with a later ``now`` must not refuse this one.
local blocked_until = '0'
if wait > 0 then
  blocked_until = string.format('%.6f', now + wait)
end
redis.call('HSET', KEYS[1], 'tries', tries, 'blocked_until', blocked_until,
  'expires_at', string.format('%.6f', now + wait + forget_after))
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + forget_after) * 1000))
return {1, tostring(tries)}
"""

# Uncount one try, never below zero, and only on a counter that still exists; a wait that the
# tries left no longer justify (ARGV[1]: free) is lifted. ARGV: free.
_REFUND = """
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries'))
if tries and tries > 0 then
  tries = redis.call('HINCRBY', KEYS[1], 'tries', -1)
  if tries < tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], 'blocked_until', '0')
  end
end
return 0
"""


class RedisBackoffCounters:
    """:class:`~desk.accounts.backoff.BackoffCounters` in Redis, under ``desk:backoff:<key>``."""

    def __init__(self, redis: Redis, namespace: str = "desk:backoff") -> None:
        self.redis = redis
        self.namespace = namespace
        self._claim = redis.register_script(_CLAIM)
        self._refund = redis.register_script(_REFUND)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def claim(self, key: str, backoff: Backoff, now: float) -> Claim:
        admitted, value = await self._claim(
            keys=[self._key(key)],
            args=[repr(now), backoff.free, backoff.first_s, backoff.max_s, FORGET_AFTER_S],
        )
        if int(admitted):
            return Claim(admitted=True)
        return Claim(admitted=False, retry_after=max(1, math.ceil(float(value) - now)))

    async def refund(self, key: str, backoff: Backoff) -> None:
        await self._refund(keys=[self._key(key)], args=[backoff.free])

    async def forget(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    async def purge(self, now: float) -> None:
        """Nothing to do: Redis expires forgotten counters itself."""
