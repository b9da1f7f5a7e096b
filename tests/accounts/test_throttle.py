"""The login throttle's policy: per account across addresses, per address across accounts, known
devices exempt from the account's back-off; on every backend the footprint has."""

from __future__ import annotations

import asyncio

from desk.accounts.backoff import Backoff
from desk.accounts.throttle import LoginThrottle, address_bucket


def throttle_over(counters, clock, *, account_free: int = 5, address_free: int = 30) -> LoginThrottle:
    return LoginThrottle(
        counters,
        account=Backoff(free=account_free, max_s=300),
        address=Backoff(free=address_free, max_s=300),
        clock=clock,
    )


async def test_an_account_is_slowed_across_every_address(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    for n in range(5):
        assert (await throttle.attempt("alice", f"203.0.113.{n}")).allowed
    refused = await throttle.attempt("alice", "198.51.100.7")
    assert not refused.allowed
    assert refused.retry_after == 1
    clock.advance(1)
    assert (await throttle.attempt("alice", "198.51.100.8")).allowed
    assert (await throttle.attempt("alice", "198.51.100.9")).retry_after == 2


async def test_usernames_are_one_account_whatever_their_case_and_spaces(counters, clock) -> None:
    throttle = throttle_over(counters, clock, account_free=2)
    await throttle.attempt("Alice", "203.0.113.1")
    await throttle.attempt(" alice ", "203.0.113.2")
    assert not (await throttle.attempt("ALICE", "203.0.113.3")).allowed


async def test_a_known_device_is_not_slowed_by_failures_elsewhere(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    for n in range(20):
        await throttle.attempt("alice", f"203.0.113.{n}")
    assert not (await throttle.attempt("alice", "192.0.2.1")).allowed
    assert (await throttle.attempt("alice", "203.0.113.1", device_id="alices-laptop")).allowed


async def test_a_stolen_device_id_has_its_own_back_off(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    for _ in range(5):
        assert (await throttle.attempt("alice", "203.0.113.1", device_id="stolen")).allowed
    assert not (await throttle.attempt("alice", "203.0.113.1", device_id="stolen")).allowed
    # Neither the account from elsewhere nor alice's own other browser is affected.
    assert (await throttle.attempt("alice", "192.0.2.1")).allowed
    assert (await throttle.attempt("alice", "192.0.2.2", device_id="alices-laptop")).allowed


async def test_one_address_spraying_many_accounts_is_slowed(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    for n in range(30):
        assert (await throttle.attempt(f"user{n}", "203.0.113.9")).allowed
    refused = await throttle.attempt("user99", "203.0.113.9")
    assert not refused.allowed
    assert refused.retry_after == 1
    assert (await throttle.attempt("user99", "203.0.113.10")).allowed


async def test_ipv6_clients_are_counted_per_64_block(counters, clock) -> None:
    throttle = throttle_over(counters, clock, address_free=3)
    for n in range(3):
        assert (await throttle.attempt(f"user{n}", f"2001:db8:1:2::{n + 1}")).allowed
    assert not (await throttle.attempt("user9", "2001:db8:1:2:ffff::1")).allowed
    assert (await throttle.attempt("user9", "2001:db8:1:3::1")).allowed
    assert address_bucket("2001:db8:1:2::7") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_bucket("unknown") == "unknown"


async def test_success_forgives_the_account_but_gives_the_address_only_its_try_back(counters, clock) -> None:
    throttle = throttle_over(counters, clock, address_free=6)
    for _ in range(4):
        await throttle.attempt("alice", "203.0.113.1")
    good = await throttle.attempt("alice", "203.0.113.1")
    assert good.allowed
    await throttle.succeeded(good)
    # The account starts again: four more free tries from anywhere…
    for n in range(4):
        assert (await throttle.attempt("alice", f"192.0.2.{n}")).allowed
    # …but the address kept its four failures: after one more try at another account, it waits.
    assert (await throttle.attempt("mallory", "203.0.113.1")).allowed
    assert (await throttle.attempt("bob", "203.0.113.1")).allowed
    assert not (await throttle.attempt("carol", "203.0.113.1")).allowed


async def test_a_try_refused_for_its_account_still_counts_for_its_address(counters, clock) -> None:
    throttle = throttle_over(counters, clock, account_free=1, address_free=3)
    assert (await throttle.attempt("alice", "203.0.113.1")).allowed
    assert not (await throttle.attempt("alice", "203.0.113.1")).allowed
    assert (await throttle.attempt("bob", "203.0.113.1")).allowed
    assert not (await throttle.attempt("carol", "203.0.113.1")).allowed


async def test_the_current_password_check_has_its_own_counter(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    for n in range(10):
        await throttle.attempt("alice", f"203.0.113.{n}")  # strangers failing as alice
    checks = [await throttle.attempt_current_password(7) for _ in range(6)]
    assert [d.allowed for d in checks] == [True] * 5 + [False]
    clock.advance(checks[-1].retry_after)
    right = await throttle.attempt_current_password(7)
    await throttle.succeeded(right)
    assert all([(await throttle.attempt_current_password(7)).allowed for _ in range(5)])


async def test_fifty_parallel_tries_at_one_account_check_five_passwords(counters, clock) -> None:
    throttle = throttle_over(counters, clock)
    decisions = await asyncio.gather(*(throttle.attempt("alice", f"203.0.113.{n}") for n in range(50)))
    assert sum(d.allowed for d in decisions) == 5


async def test_two_processes_share_the_count(counters, clock) -> None:
    # Two throttles over one backend stand for two app processes (on Redis, maybe other machines).
    first, second = (
        throttle_over(counters, clock, account_free=3),
        throttle_over(counters, clock, account_free=3),
    )
    await first.attempt("alice", "203.0.113.1")
    await second.attempt("alice", "203.0.113.2")
    await first.attempt("alice", "203.0.113.3")
    assert not (await second.attempt("alice", "203.0.113.4")).allowed
