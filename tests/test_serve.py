"""``make run``'s start script (scripts/serve.py): one line for a busy port, and the URL announced
only once the server answers."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _http_server(port: int) -> str:
    return (f"import http.server; http.server.HTTPServer(('127.0.0.1', {port}), "
            f"http.server.SimpleHTTPRequestHandler).serve_forever()")


def test_a_dying_worker_is_reported_and_the_server_keeps_serving():
    port = free_port()
    worker = f"{sys.executable} -c 'import time, sys; time.sleep(1); sys.exit(3)'"
    command = [sys.executable, "-u", str(SERVE), "127.0.0.1", str(port), "--worker", worker, "--",
               sys.executable, "-c", _http_server(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = iter(proc.stderr.readline, "")  # (the test server logs its requests here too)
        line = next(ln for ln in lines if "worker" in ln)
        assert "The job worker stopped (exit status 3)" in line, line
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("how", ["ctrl-c", "kill", "kill, started in the background"])
def test_ctrl_c_or_a_kill_stops_the_server_and_the_worker(tmp_path, how):
    """Ctrl+C reaches the script, the server and the worker (one process group). A kill (SIGTERM,
    as a service manager stops a program) reaches the script alone: it hands the other two a Ctrl+C
    and waits for them, instead of leaving both running without it - also when it was started in
    the background (``nohup``, ``&`` in a script), which hands SIGINT down ignored: the server and
    the worker then ignored the Ctrl+C, and the script waited 30 s before it terminated them."""
    import os
    import signal

    port = free_port()
    marker = tmp_path / "worker-stopped"
    worker = (f"{sys.executable} -c 'import time, pathlib\ntry:\n    time.sleep(60)\n"
              f"except KeyboardInterrupt:\n    pathlib.Path(\"{marker}\").write_text(\"ok\")'")
    command = [sys.executable, "-u", str(SERVE), "127.0.0.1", str(port), "--worker", worker, "--",
               sys.executable, "-c", _http_server(port)]
    # A session of its own, found by its group afterwards. (Ctrl+C as a terminal's foreground job
    # gets it: a suite started in the background with "&" would hand SIGINT down ignored, and the
    # test would wait for nothing.)
    sigint = signal.SIG_IGN if "background" in how else signal.SIG_DFL
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    try:
        assert proc.stdout.readline().startswith("Kontor runs on")
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in the terminal: the whole process group
        else:
            os.kill(proc.pid, signal.SIGTERM)  # the script only
        proc.wait(timeout=20)  # (the script gives them 30 s before it terminates them)
        assert marker.read_text() == "ok"  # the worker got a Ctrl+C and stopped cleanly
        with socket.socket() as s:
            # the server is gone: its port is free. SO_REUSEADDR as a server binds (and as serve.py
            # checks): the server closed the announcement's HTTP connection itself, so that
            # connection's TIME_WAIT holds the port for a minute without it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left, so that a failure leaves nothing running
        except ProcessLookupError:
            pass
