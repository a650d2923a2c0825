#!/usr/bin/env python3
"""Open-loop load at a fixed rate, for latency at a given load (what `wrk2 --rate` measures).

    scripts/paced-load.py URL SESSION_COOKIE RATE SECONDS

Requests are scheduled every 1/RATE seconds whether or not earlier ones have answered; each
latency is measured from its scheduled time (so a stall is counted against every request it
delays, not hidden). Keep-alive connections from a pool of worker threads. Prints one line:
achieved rate, p50, p99, max, and any non-200 answers. Loopback only.
"""
import http.client
import sys
import threading
import time
import urllib.parse


def main() -> None:
    url, cookie, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("paced-load: loopback addresses only")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    lock = threading.Lock()
    state = {"next": 0}
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                i = state["next"]
                if i >= total:
                    return
                state["next"] = i + 1
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                conn.request("GET", path, headers={"Cookie": f"gatepass_session={cookie}"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                status = type(e).__name__
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                if status != 200:
                    errors.append(str(status))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> str:
        return f"{latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000:.2f}ms"

    print(
        f"  paced {rate:.0f}/s: achieved {len(latencies) / elapsed:.0f}/s  p50 {pct(0.50)}  "
        f"p99 {pct(0.99)}  max {latencies[-1] * 1000:.1f}ms  errors {len(errors)}"
        + (f" ({', '.join(sorted(set(errors)))})" if errors else "")
    )


if __name__ == "__main__":
    main()
