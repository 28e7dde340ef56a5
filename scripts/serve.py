"""``make run``'s server start: check the port, start the server and the job queue's worker,
announce the URL once the server answers.

    python scripts/serve.py HOST PORT [--worker 'flask --app app worker'] -- gunicorn --bind HOST:PORT ... 'app:app'

* A port already in use ends at once with one line naming ``PORT=`` (instead of gunicorn's
  retry loop).
* "Kontor runs on …" is printed only when the server answers HTTP on the port; with
  ``HOST=0.0.0.0`` also the address colleagues on the office network use.
* ``--worker CMD``: the job queue's worker (imports, large group assignments, the daily purge)
  starts with the server. If it dies, one line says so (the pages keep working; jobs wait until a
  worker runs again); when the server stops, the worker is stopped too.
* Ctrl+C reaches the server and the worker (same process group); this script waits for both to
  stop and exits with the server's status. A ``kill`` (SIGTERM, as a service manager stops a
  program) reaches this script only: it hands both a Ctrl+C and waits the same way, so neither is
  left running without it.

Standard library only: it runs before anything else is imported. gunicorn reads its own
``gunicorn.conf.py`` when there is one; the bind given here wins.
"""
from __future__ import annotations

import errno
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

#: How long the server may take to answer its first request (migrations ran before, in make).
READY_TIMEOUT = 60.0


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on (or holds) ``host:port``: try to bind it ourselves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as gunicorn binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (a redirect to the login, a 404) means it is up
    except (OSError, ValueError):
        return False


def local_url(host: str, port: int) -> str:
    """Where this machine reaches the server: 0.0.0.0 / :: mean every interface."""
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{reach}]:{port}/" if ":" in reach else f"http://{reach}:{port}/"


def parse(argv: list[str]) -> tuple[str, str, list[str] | None, list[str]] | None:
    """(host, port, worker command or None, server command), or None when the usage is wrong."""
    if len(argv) < 2:
        return None
    host, port_text, rest = argv[0], argv[1], argv[2:]
    worker = None
    if rest[:1] == ["--worker"] and len(rest) >= 2:
        worker, rest = shlex.split(rest[1]), rest[2:]
    if len(rest) < 2 or rest[0] != "--":
        return None
    return host, port_text, worker, rest[1:]


def stop(proc: subprocess.Popen | None, timeout: float = 30) -> None:
    """Let a process that got Ctrl+C finish (its jobs, its requests); terminate it if it takes too long."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait()


class Terminated(Exception):
    """SIGTERM reached this script (see :func:`main`)."""


def _terminated(signum, frame) -> None:
    raise Terminated


def main(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        print(__doc__, file=sys.stderr)
        return 2
    host, port_text, worker_command, command = parsed
    try:
        port = int(port_text)
    except ValueError:
        print(f"PORT={port_text} is not a port number; e.g. make run PORT=5001", file=sys.stderr)
        return 2
    if port_in_use(host, port):
        print(f"Port {port} on {host} is in use (another Kontor?). Start on another one: make run PORT={port + 1}",
              file=sys.stderr)
        return 1
    worker = server = None
    signal.signal(signal.SIGTERM, _terminated)
    # Ctrl+C is how the server and the worker stop (a kill is handed on to them as one). Started in
    # the background (nohup, "&" in a script) this script gets SIGINT ignored, and would hand that
    # down: a handler of its own is reset to the default in the programs it starts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        worker = subprocess.Popen(worker_command) if worker_command else None
        server = subprocess.Popen(command)
        return _run(host, port, server, worker)
    except (KeyboardInterrupt, Terminated) as stopped:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # (a second kill: still the clean way down)
        if isinstance(stopped, Terminated):
            # a kill reached this script alone: the server and the worker get what Ctrl+C gives them
            for proc in (server, worker):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
        # Ctrl+C went to the server and the worker too (same process group): let them shut down cleanly
        stop(server)
        stop(worker)
        return server.returncode if server is not None else 1


def _run(host: str, port: int, server: subprocess.Popen, worker: subprocess.Popen | None) -> int:
    """Announce the server once it answers, report a worker that dies, and stop the worker when the
    server stops by itself: the server's exit status."""
    reported = False

    def watch_worker() -> None:
        nonlocal reported
        if worker is not None and not reported and worker.poll() is not None:
            reported = True
            print(f"The job worker stopped (exit status {worker.returncode}); see the log above. Pages still "
                  "work, but imports and large group assignments wait until a worker runs again "
                  "(flask --app app worker).", file=sys.stderr, flush=True)

    url = local_url(host, port)
    deadline = time.monotonic() + READY_TIMEOUT
    while server.poll() is None and not answers(url):
        watch_worker()
        if time.monotonic() > deadline:
            print(f"Kontor did not answer on {url} within {READY_TIMEOUT:.0f} s; see the log above.",
                  file=sys.stderr)
            break
        time.sleep(0.2)
    else:
        if server.poll() is None:
            shown = f"http://{host}:{port}/" if host not in ("0.0.0.0", "::", "") else url
            print(f"Kontor runs on {shown}  (Ctrl+C stops it)", flush=True)
            if host in ("0.0.0.0", "::"):
                print(f"On the office network: http://{socket.gethostname()}:{port}/", flush=True)
    while server.poll() is None:
        watch_worker()
        time.sleep(0.5)
    if worker is not None and worker.poll() is None:
        worker.terminate()  # the server stopped by itself: the worker goes with it
    stop(worker)
    return server.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
