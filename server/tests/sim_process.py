"""Starting and stopping `gatepass okta-sim` for the Python fidelity suites (`okta_sdk/`,
`slack_sdk/`): the binary from GATEPASS_BIN, a seed file, a free loopback port, its URL read
from what it prints, its stdout drained for the whole session, a clear failure with its output
when it does not start."""

import json
import os
import queue
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

STARTUP_TIMEOUT_SECS = 60
LISTENING = re.compile(r"okta-sim: listening on (http://127\.0\.0\.1:\d+)")


def gatepass_bin():
    """The simulator binary from GATEPASS_BIN; fails (never skips) when it is not usable."""
    path = os.environ.get("GATEPASS_BIN", "")
    if not path:
        pytest.fail(
            "GATEPASS_BIN is not set: point it at the gatepass binary, e.g. "
            "GATEPASS_BIN=$HOME/.cache/gatepass/target/debug/gatepass",
            pytrace=False,
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(f"GATEPASS_BIN={path!r} is not an executable file", pytrace=False)
    return path


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start(work, seed, extra_args=()):
    """Starts the simulator with `seed` (a dict) written under `work`; returns (url, proc,
    stderr_path). OKTA_SIM_* variables and GATEPASS_CONFIG of the caller are not passed on:
    they would change the set-up."""
    seed_path = work / "seed.json"
    seed_path.write_text(json.dumps(seed, indent=2))
    stderr_path = work / "okta-sim.stderr"
    cmd = [gatepass_bin(), "okta-sim", "--listen", "127.0.0.1:0", "--seed", str(seed_path),
           *extra_args]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OKTA_SIM_") and k != "GATEPASS_CONFIG"}
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, env=env, text=True, bufsize=1)

    lines = queue.Queue()
    seen = []

    def pump():  # keeps draining stdout for the whole session so the pipe never fills up
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(left, 0.01)) if left > 0 else None
        except queue.Empty:
            line = None
        if line is None:
            stop(proc)
            why = (f"exited with status {proc.returncode}" if time.monotonic() < deadline
                   else f"did not print its URL within {STARTUP_TIMEOUT_SECS}s")
            stderr_text = Path(stderr_path).read_text(errors="replace")[-4000:]
            pytest.fail(
                f"okta-sim {why}.\ncommand: {' '.join(cmd)}\nstdout:\n{''.join(seen)}\n"
                f"stderr:\n{stderr_text}",
                pytrace=False,
            )
        seen.append(line)
        m = LISTENING.search(line)
        if m:
            return m.group(1), proc, stderr_path


def control(url, method, path, body=None, timeout=15):
    """A call to the simulator's control API: the parsed JSON answer (None when empty); raises
    on HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return json.loads(raw) if raw.strip() else None
