"""Retry timing of failed events."""

from __future__ import annotations

from desk.ingest.queue import RetryPolicy


def test_retry_delay_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay_s=2.0, max_delay_s=60.0)
    for attempts, full in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (20, 60.0)]:
        delays = [policy.delay(attempts) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays), attempts
        assert len(set(delays)) > 1  # spread, so a failed burst does not come back all at once
