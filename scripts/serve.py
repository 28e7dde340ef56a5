"""``make run``'s server start: check the port, start the server, announce the URL once it answers.

    python scripts/serve.py HOST PORT -- gunicorn --bind HOST:PORT ... 'app:app'

* A port already in use ends at once with one line naming ``PORT=`` (instead of gunicorn's
  retry loop).
* "Kontor runs on …" is printed only when the server answers HTTP on the port; with
  ``HOST=0.0.0.0`` also the address colleagues on the office network use.
* Ctrl+C reaches the server (same process group); this script waits for it to stop and exits
  with its status.

Standard library only: it runs before anything else is imported. gunicorn reads its own
``gunicorn.conf.py`` when there is one; the bind given here wins.
"""
from __future__ import annotations

import errno
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


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    host, port_text, command = argv[0], argv[1], argv[3:]
    try:
        port = int(port_text)
    except ValueError:
        print(f"PORT={port_text} is not a port number; e.g. make run PORT=5001", file=sys.stderr)
        return 2
    if port_in_use(host, port):
        print(f"Port {port} on {host} is in use (another Kontor?). Start on another one: make run PORT={port + 1}",
              file=sys.stderr)
        return 1
    server = subprocess.Popen(command)
    url = local_url(host, port)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while server.poll() is None and not answers(url):
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
        return server.wait()
    except KeyboardInterrupt:
        # Ctrl+C went to the server too (same process group): let it shut down cleanly
        try:
            return server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.terminate()
            return server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
