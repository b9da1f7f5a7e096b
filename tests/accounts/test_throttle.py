"""The login throttle: a fixed window of failures per account and address, shared through the store."""

from __future__ import annotations

from litestar.stores.memory import MemoryStore

from desk.accounts.throttle import LoginThrottle


async def test_the_sixth_attempt_in_a_window_is_refused_with_the_wait() -> None:
    throttle = LoginThrottle(MemoryStore(), max_failures=5)
    decisions = [await throttle.attempt("alice", "1.2.3.4") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert 1 <= decisions[-1].retry_after <= 60


async def test_accounts_and_addresses_are_counted_apart() -> None:
    throttle = LoginThrottle(MemoryStore(), max_failures=2)
    for _ in range(2):
        await throttle.attempt("alice", "1.2.3.4")
    assert not (await throttle.attempt("alice", "1.2.3.4")).allowed
    assert (await throttle.attempt("bob", "1.2.3.4")).allowed
    assert (await throttle.attempt("alice", "5.6.7.8")).allowed


async def test_usernames_are_counted_case_insensitively() -> None:
    throttle = LoginThrottle(MemoryStore(), max_failures=2)
    await throttle.attempt("Alice", "1.2.3.4")
    await throttle.attempt(" alice", "1.2.3.4")
    assert not (await throttle.attempt("ALICE", "1.2.3.4")).allowed


async def test_success_forgets_only_that_address() -> None:
    throttle = LoginThrottle(MemoryStore(), max_failures=2)
    for ip in ("1.1.1.1", "2.2.2.2"):
        await throttle.attempt("alice", ip)
        await throttle.attempt("alice", ip)
    await throttle.succeeded("alice", "2.2.2.2")
    assert (await throttle.attempt("alice", "2.2.2.2")).allowed
    assert not (await throttle.attempt("alice", "1.1.1.1")).allowed


async def test_the_window_ends_and_counting_starts_again() -> None:
    throttle = LoginThrottle(MemoryStore(), max_failures=1, window=1)
    await throttle.attempt("alice", "1.2.3.4")
    refused = await throttle.attempt("alice", "1.2.3.4")
    assert not refused.allowed
    # Pretend the window is over: the stored window's end is in the past.
    key = throttle.key("alice", "1.2.3.4")
    await throttle.store.set(key, b'{"attempts":1,"resets_at":0}')
    assert (await throttle.attempt("alice", "1.2.3.4")).allowed


async def test_processes_sharing_the_runtime_store_share_the_count(runtime) -> None:
    # Two throttles over the runtime's "throttle" store stand for two app processes
    # (with Redis configured, the store is Redis and the processes may be on other machines).
    first = LoginThrottle(runtime.kv("throttle"), max_failures=3)
    second = LoginThrottle(runtime.kv("throttle"), max_failures=3)
    await first.attempt("alice", "1.2.3.4")
    await second.attempt("alice", "1.2.3.4")
    await first.attempt("alice", "1.2.3.4")
    assert not (await second.attempt("alice", "1.2.3.4")).allowed
