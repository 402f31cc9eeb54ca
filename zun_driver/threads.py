"""How the plugin runs work beside a request, under eventlet or threads.

zun-api started by its console script runs under eventlet (``zun.cmd``
monkey-patches the process): every request is a green thread, and a C call
that blocks (with the GIL released) must run in a native thread through
``eventlet.tpool`` or it stops them all.  zun-api under uwsgi or mod_wsgi
(``zun.api.wsgi``) is not patched and uses native threads.
"""

import concurrent.futures
import sys
import threading


def _eventlet():
    """The eventlet module when this process is monkey-patched, else None."""
    eventlet = sys.modules.get('eventlet')
    if eventlet is not None and eventlet.patcher.is_monkey_patched('thread'):
        return eventlet
    return None


def start_background(fn, *args):
    """Run fn(*args) without waiting for it: a green or a native thread."""
    eventlet = _eventlet()
    if eventlet is not None:
        eventlet.spawn_n(fn, *args)
    else:
        threading.Thread(target=fn, args=args, daemon=True,
                         name='libplacement-agents').start()


def call_native(fn, *args):
    """fn(*args) in a native thread under eventlet (tpool), else directly.

    For C calls that block with the GIL released: run in a green thread
    they would stop every other green thread of the process.
    """
    eventlet = _eventlet()
    if eventlet is not None:
        from eventlet import tpool
        return tpool.execute(fn, *args)
    return fn(*args)


def map_concurrent(fn, items, width):
    """[fn(item) for item in items], up to ``width`` calls at once.

    For network calls in Python (HTTP to Placement): green threads under
    eventlet, whose patched sockets let them overlap; native threads
    otherwise.
    """
    items = list(items)
    if len(items) <= 1:
        return [fn(item) for item in items]
    width = max(1, min(width, len(items)))
    eventlet = _eventlet()
    if eventlet is not None:
        return list(eventlet.GreenPool(width).imap(fn, items))
    with concurrent.futures.ThreadPoolExecutor(width) as pool:
        return list(pool.map(fn, items))
