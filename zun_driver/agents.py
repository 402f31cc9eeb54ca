"""Agent snapshots for the Zun filter, refreshed in the background.

A scheduling request never waits for an agent: it reads the snapshots this
process already holds and, when some of its hosts are due, starts one
background refresh of those hosts.  The refresh runs the libplacement
Fetcher (one libcurl-multi run, GIL released) in a native thread: under
eventlet (``zun-api`` started by its console script monkey-patches) through
``eventlet.tpool``, otherwise (zun-api under uwsgi or mod_wsgi) in a
``threading.Thread``.

Each host's snapshot ages by its own ``time`` (when the agent measured it):
it is used while younger than ``agent_ttl`` and fetched again once older
than half of it.  A refresh adds to what the process holds and never drops
hosts that another request asked for.  A host whose agent fails is retried
no more often than every ``agent_ttl / 2`` seconds and logged as a warning
at most once per ``WARN_INTERVAL`` seconds.

Every fetched snapshot also feeds the process's learner (``lp.Learner``,
docs/learn.md): what the running containers of each image (and flavor
label) were measured to be, for containers of class ``auto``.
"""

import os
import threading
import time

import libplacement as lp
from oslo_log import log as logging

from zun_driver.threads import call_native
from zun_driver.threads import start_background

LOG = logging.getLogger(__name__)

#: Seconds between two warnings about the same unreachable agent.
WARN_INTERVAL = 600.0
#: Hosts named in one warning line; the rest are counted.
WARN_HOSTS_SHOWN = 10


class Snapshot(object):
    """What the filter uses of one host's snapshot.

    ``threads`` and ``demand`` are the core's numbers for the host
    (``Cluster.loads``: demand is the larger of the measured load and what
    the measured workloads reserve); ``groups`` maps the id of every
    workload the agent lists to its placement group (or None), ``classes``
    to its measured (class, confidence).
    """

    __slots__ = ('time', 'received', 'threads', 'demand', 'groups',
                 'classes')

    def __init__(self, time_s, received, threads, demand, groups, classes):
        self.time = time_s
        self.received = received
        self.threads = threads
        self.demand = demand
        self.groups = groups
        self.classes = classes

    def age(self, now, now_mono):
        """Seconds since measured: by the snapshot's own time, and never
        less than since it was received (guards against a fast agent clock)."""
        return max(now - self.time, now_mono - self.received, 0.0)


def snapshots_from_cluster(cluster, received):
    """{host name: Snapshot} for every host of a libplacement Cluster."""
    out = {}
    for host, load in zip(cluster.hosts(), cluster.loads(None)):
        workloads = host.get('workloads') or ()
        groups = {str(w.get('id')): w.get('group') or None
                  for w in workloads}
        classes = {str(w.get('id')): (w.get('class') or 'unknown',
                                      float(w.get('confidence') or 0.0))
                   for w in workloads}
        out[host['host']] = Snapshot(float(host.get('time') or 0), received,
                                     float(load[0]), float(load[1]), groups,
                                     classes)
    return out


class AgentSnapshots(object):
    """The process's agent snapshots, refreshed in the background, and the
    learner they feed (``learner``, an ``lp.Learner``).

    Thread-safe: requests call ``want``, ``get`` and the learner
    concurrently; one background refresh runs at a time.
    """

    def __init__(self, url_template, timeout_s, ttl_s, token=None,
                 learn_min_instances=3, learn_min_confidence=0.7, ca_file=None):
        self._fetch_options = dict(url_template=url_template,
                                   timeout_ms=int(timeout_s * 1000),
                                   ttl_s=float(ttl_s), token=token,
                                   ca_file=ca_file)
        self.learner = lp.Learner(min_instances=learn_min_instances,
                                  min_confidence=learn_min_confidence)
        self._ttl = float(ttl_s)
        self._lock = threading.Lock()
        self._snaps = {}
        self._attempted = {}        # host -> monotonic time of last fetch
        self._failing = {}          # host -> reason of the last failure
        self._warned = {}           # host -> monotonic time of last warning
        self._refreshing = False
        # Built now so that bad options fail here, in the request, where
        # the filter's fail_open applies, not later in a background thread.
        lp.Fetcher(**self._fetch_options)

    def want(self, hosts):
        """Start a background refresh of the hosts that are due, if any.

        A host is due when it has no snapshot or one older than
        ``agent_ttl / 2``, and was not tried in the last ``agent_ttl / 2``
        seconds.  Returns at once.
        """
        now, now_mono = time.time(), time.monotonic()
        half = self._ttl / 2.0
        with self._lock:
            if self._refreshing:
                return
            due = []
            for host in dict.fromkeys(hosts):
                snap = self._snaps.get(host)
                if snap is not None and snap.age(now, now_mono) < half:
                    continue
                tried = self._attempted.get(host)
                if tried is not None and now_mono - tried < half:
                    continue
                due.append(host)
            if not due:
                return
            for host in due:
                self._attempted[host] = now_mono
            self._refreshing = True
        start_background(self._refresh_in_background, due)

    def fetch_now(self, hosts):
        """Fetch these hosts' snapshots now and wait for them (at most
        about ``agent_timeout`` per 64 hosts), for callers outside the
        scheduling path; failures are handled as in a background refresh.
        """
        now_mono = time.monotonic()
        with self._lock:
            for host in hosts:
                self._attempted[host] = now_mono
        self._refresh(hosts)

    def get(self, host):
        """The host's Snapshot if younger than agent_ttl, else None."""
        with self._lock:
            snap = self._snaps.get(host)
        if snap is not None and snap.age(time.time(),
                                         time.monotonic()) < self._ttl:
            return snap
        return None

    def wait_idle(self, timeout):
        """Wait until no refresh runs (for tests and tools); True if idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._refreshing:
                    return True
            time.sleep(0.01)
        return False

    def _refresh_in_background(self, hosts):
        try:
            self._refresh(hosts)
        finally:
            with self._lock:
                self._refreshing = False

    def _fetch_and_learn(self, hosts):
        # A Fetcher per refresh: its cache would only hand back the
        # snapshots this object already holds (it holds them per host
        # and ages them by their own time).
        fetcher = lp.Fetcher(**self._fetch_options)
        fresh, errors = fetcher.fetch(hosts)
        self.learner.observe(fresh)
        return fresh, errors

    def _refresh(self, hosts):
        try:
            # Both C calls release the GIL: run them in a native thread.
            fresh, errors = call_native(self._fetch_and_learn, hosts)
            snaps = snapshots_from_cluster(fresh, time.monotonic())
        except Exception as e:
            snaps = {}
            errors = {h: 'fetch failed: %s' % e for h in hosts}
        with self._lock:
            now_mono = time.monotonic()
            self._snaps.update(snaps)
            for host in list(self._snaps):
                if self._snaps[host].age(time.time(), now_mono) >= self._ttl:
                    del self._snaps[host]
            recovered = sorted(h for h in snaps if h in self._failing)
            for host in recovered:
                del self._failing[host]
                self._warned.pop(host, None)
            self._failing.update(errors)
            to_warn = sorted(
                h for h in errors
                if now_mono - self._warned.get(h, -WARN_INTERVAL)
                >= WARN_INTERVAL)
            for host in to_warn:
                self._warned[host] = now_mono
        if recovered:
            LOG.info('libplacement: agent snapshots again from %s',
                     ', '.join(recovered))
        if to_warn:
            shown = '; '.join(errors[h] for h in to_warn[:WARN_HOSTS_SHOWN])
            more = len(to_warn) - WARN_HOSTS_SHOWN
            LOG.warning('libplacement: no agent snapshot from %d host(s), '
                        'which fall back to declared demand (repeated at '
                        'most every %d s per host): %s%s', len(to_warn),
                        WARN_INTERVAL, shown,
                        ' (and %d more)' % more if more > 0 else '')


# One AgentSnapshots per process and set of agent options.  Keyed by pid
# too: zun-api forks its workers, and a parent's refresh thread does not
# survive in a child.
_REGISTRY = {}
_REGISTRY_LOCK = threading.Lock()


def shared(group):
    """The process's AgentSnapshots for the ``[libplacement]`` options."""
    key = (os.getpid(), group.agent_url, group.agent_timeout,
           group.agent_ttl, group.agent_token, group.learn_min_instances,
           group.learn_min_confidence, group.agent_ca_file)
    with _REGISTRY_LOCK:
        agents = _REGISTRY.get(key)
        if agents is None:
            agents = _REGISTRY[key] = AgentSnapshots(
                group.agent_url, group.agent_timeout, group.agent_ttl,
                group.agent_token, group.learn_min_instances,
                group.learn_min_confidence, group.agent_ca_file)
        return agents
