"""gunicorn settings for Kontor (``make run`` and the README's systemd unit use this file:
``gunicorn -c gunicorn.conf.py 'app:app'``). Each can be overridden by the environment
(``GUNICORN_CMD_ARGS``, e.g. ``--bind 0.0.0.0:8000 --workers 4``) or the command line.

* ``gthread`` workers: each worker serves several requests at once on threads, so a few slow
  clients (or a long export) no longer hold every worker; the reverse proxy in front buffers
  slow uploads and downloads.
* ``timeout``: a worker silent this long is killed and restarted. What can take longer than a
  few seconds runs on the job queue (crm/jobs: imports, large group assignments; the worker is
  ``flask --app app worker``), so 120 s is a generous ceiling, not a budget.
* ``graceful_timeout``: on a restart or ``systemctl stop`` running requests get this long to
  finish before their worker is killed.
* Before any worker starts, Kontor checks the database (reachable, migrated) and ``instance/``
  (writable) and stops with one line if something is wrong (crm/ops/startup.py).
"""
import os

bind = os.environ.get("KONTOR_BIND", "127.0.0.1:5000")
worker_class = "gthread"
workers = int(os.environ.get("KONTOR_WORKERS", "2"))
threads = int(os.environ.get("KONTOR_THREADS", "8"))
timeout = 120
graceful_timeout = 30
keepalive = 5
# Kontor logs each request itself (crm/ops/requestlog.py: user, status, duration, statements)
accesslog = None
errorlog = "-"
# the X-Forwarded-* headers are trusted by Kontor's own KONTOR_PROXY_FIX, not by gunicorn
forwarded_allow_ips = "127.0.0.1"


def on_starting(server):
    from crm import create_app
    from crm.ops.startup import check_or_exit

    check_or_exit(create_app)


def post_worker_init(worker):
    """What a worker holds once it has loaded Kontor (modules, the app, the mappers and their
    compiled SQL: about three quarters of what it holds when warm, 160,000 of 210,000 objects) lives
    as long as the worker: it is taken out of the garbage collector's passes (``gc.freeze``), so that
    a full pass - one in every few dozen requests - reads only what came after (measured:
    bench/NOTES.md, "A list page at 1M people")."""
    import gc

    gc.freeze()
