"""A small, fast HTTP/1.1 load generator, run as its own process by the benchmarks.

It replays pre-built requests over keep-alive connections (one request in flight per
connection, like the platform's pushes) and reports throughput and latency percentiles as one
JSON line. Raw asyncio streams keep its own cost far below the server's, so the figures measure
the server rather than the client.

    python bench/_loadgen.py PORT CONCURRENCY SECONDS REQUESTS_FILE
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from pathlib import Path


async def _connection(
    port: int,
    requests: list[bytes],
    start: int,
    step: int,
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = start
    try:
        while index < len(requests) and time.perf_counter() < stop_at:
            request = requests[index]
            index += step
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(port: int, concurrency: int, seconds: float, requests: list[bytes]) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    began = time.perf_counter()
    stop_at = began + seconds
    await asyncio.gather(
        *(
            _connection(port, requests, i, concurrency, stop_at, latencies, statuses)
            for i in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "elapsed_s": elapsed,
        "per_s": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "ok": statuses.get(200, 0),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main() -> None:
    port, concurrency, seconds, path = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        float(sys.argv[3]),
        Path(sys.argv[4]),
    )
    requests: list[bytes] = pickle.loads(path.read_bytes())  # a file this benchmark wrote
    try:
        import uvloop

        result = uvloop.run(run(port, concurrency, seconds, requests))
    except ImportError:
        result = asyncio.run(run(port, concurrency, seconds, requests))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
