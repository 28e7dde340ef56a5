"""``make run``'s start script (scripts/serve.py): one line for a busy port, and the URL announced
only once the server answers."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

SERVE = Path(__file__).resolve().parents[1] / "scripts" / "serve.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_busy_port_gives_one_line_naming_PORT():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(SERVE), "127.0.0.1", str(port), "--", "false"],
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and f"PORT={port + 1}" in lines[0] and str(port) in lines[0], lines


def test_the_url_is_announced_only_when_the_server_answers():
    port = free_port()
    # a server that takes 1.5 s before it listens, like gunicorn loading the app
    slow = (f"import time, http.server; time.sleep(1.5); print('listening', flush=True); "
            f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()")
    command = [sys.executable, "-u", str(SERVE), "127.0.0.1", str(port), "--", sys.executable, "-c", slow]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        started = time.monotonic()
        first = proc.stdout.readline().strip()
        announced = proc.stdout.readline().strip()
        assert first == "listening", first  # the server's own line comes before the announcement
        assert announced == f"Kontor runs on http://127.0.0.1:{port}/  (Ctrl+C stops it)"
        assert time.monotonic() - started >= 1.5
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=10)
