"""Measured host snapshots from libplacement agents, fetched in the background.

When ``[libplacement] agent_url`` is set, requests read the snapshots held
here and never wait for the network: hosts that need a (new) snapshot are
queued, and one green thread fetches the queue with ``libplacement.Fetcher``
(one libcurl-multi run per batch) in a native thread (``eventlet.tpool``).

Freshness is per host and by the snapshot's own ``time`` (the agent's wall
clock at its last sweep), so it does not depend on when the snapshot was
fetched or how often the scheduler asks:

* a snapshot is used while it is younger than ``agent_ttl`` (plus
  ``agent_clock_skew`` for clocks that disagree); older, it is missing,
  whatever the agent answered, and the host falls back to declared demand;
  a ``time`` more than ``agent_clock_skew`` in the future is refused;
* a host is fetched again once its snapshot is half ``agent_ttl`` old, by
  the background loop, also while no request comes; a host without a
  snapshot is queued by the requests that consider it; a host whose agent
  fails is tried again at most every quarter ``agent_ttl``;
* a fetch adds or replaces the snapshots of the hosts it got and never
  drops another host's snapshot: each host keeps its last good snapshot
  until that is too old by its ``time``.

Hosts that have no usable snapshot are logged at most once per host every
``LOG_INTERVAL`` seconds, at most ``LOG_HOSTS`` lines per fetch, then one
summary line; a host that has a snapshot again is logged once.

Every fetched batch also feeds the engine's learner (``lp.Learner``,
docs/learn.md), in the native thread of the fetch: what the running
instances of each image and flavor were measured to be, for requests of
class ``auto``. ``observations`` counts the batches it has seen, so that
answers derived from the learner know when to ask it again.
"""

import time

import eventlet
from eventlet import tpool
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# Seconds before the same host's missing snapshot is logged again.
LOG_INTERVAL = 600.0
# Hosts named one per line in one fetch's log; the rest are summarised.
LOG_HOSTS = 10


class HostSnapshot(object):
    """One host's last good snapshot.

    ``doc`` is the snapshot as the core parsed it (a snapshot-shaped dict,
    unknown fields dropped); ``time`` its own time stamp; ``refresh_at`` and
    ``expires_at`` are wall-clock times derived from it.
    """

    __slots__ = ('doc', 'time', 'refresh_at', 'expires_at')

    def __init__(self, doc, refresh_at, expires_at):
        self.doc = doc
        self.time = float(doc.get('time') or 0)
        self.refresh_at = self.time + refresh_at
        self.expires_at = self.time + expires_at


class AgentSnapshots(object):
    """Per-host snapshots, refreshed in the background by their own age."""

    def __init__(self, lp, conf, learner=None):
        self._ttl = float(conf.agent_ttl)
        self._skew = float(conf.agent_clock_skew)
        self._retry = self._ttl / 4.0
        self._held = {}         # host -> HostSnapshot
        self._attempted = {}    # host -> monotonic time of the last fetch
        self._pending = set()   # hosts to fetch
        self._running = False
        self._closed = False
        self._logged = {}       # host -> monotonic time its absence was logged
        # host -> why its last fetch gave no usable snapshot
        self.last_errors = {}
        self._learner = learner
        # Fetched batches the learner has observed (changed by the green
        # thread of the loop only, after the native thread returned).
        self.observations = 0
        self._fetcher = None
        fetcher_type = getattr(lp, 'Fetcher', None)
        if fetcher_type is None:
            LOG.warning('libplacement: [libplacement] agent_url is set but '
                        'this build of the libplacement module has no '
                        'Fetcher (built without libcurl?); using declared '
                        'demand for every host. Rebuild and install '
                        'libplacement with agent support.')
            return
        # The fetcher accepts what this class keeps (agent_ttl by the
        # snapshot's own time, with the clock-skew allowance), and asks the
        # agent again for a snapshot older than half of it: its cache never
        # serves what is due.
        self._fetcher = fetcher_type(
            url_template=conf.agent_url,
            timeout_ms=int(conf.agent_timeout * 1000),
            ttl_s=self._ttl,
            refresh_s=self._ttl / 2.0,
            max_skew_s=self._skew,
            token=conf.agent_token,
            ca_file=conf.agent_ca_file)

    @property
    def enabled(self):
        return self._fetcher is not None

    def get(self, host, now):
        """host's usable HostSnapshot at wall-clock time now, or None.

        Queues the host for a fetch when its snapshot is due or missing.
        Called for every host of every request: the common case is one dict
        lookup and one comparison.
        """
        snap = self._held.get(host)
        if snap is not None and now < snap.refresh_at:
            return snap
        if (self._fetcher is not None
                and time.monotonic() - self._attempted.get(host, -1e18)
                >= self._retry):
            self._pending.add(host)
        if snap is not None and now <= snap.expires_at:
            return snap
        return None

    def start_refresh(self):
        """Start the background loop if there is work and it is not running."""
        if (self._pending and not self._running and not self._closed
                and self._fetcher is not None):
            self._running = True
            eventlet.spawn_n(self._run)

    def close(self):
        """Stop the background loop (this configuration is replaced)."""
        self._closed = True

    def _due(self):
        """Queue the held hosts whose snapshot is due; seconds until the
        next one is, or None when no host is held."""
        now, mono = time.time(), time.monotonic()
        wait = None
        for host, snap in self._held.items():
            ahead = snap.refresh_at - now
            if ahead <= 0:
                ahead = self._attempted.get(host, -1e18) + self._retry - mono
                if ahead <= 0:
                    self._pending.add(host)
                    continue
            wait = ahead if wait is None else min(wait, ahead)
        return wait

    def _run(self):
        try:
            while not self._closed:
                if not self._pending:
                    wait = self._due()
                    if not self._pending:
                        if wait is None:
                            return
                        # Also wakes up for hosts queued by requests.
                        eventlet.sleep(min(wait, self._retry))
                        continue
                hosts = sorted(self._pending)
                self._pending.clear()
                started = time.monotonic()
                for host in hosts:
                    self._attempted[host] = started
                try:
                    fresh, errors, learn_error = tpool.execute(
                        self._fetch_and_learn, hosts)
                except Exception as e:
                    # Keep what is held; the hosts are retried when due.
                    LOG.error('libplacement: fetching agent snapshots of %d '
                              'hosts failed (%s); check [libplacement] '
                              'agent_url and the agents. Hosts fall back to '
                              'declared demand as their snapshots age.',
                              len(hosts), e)
                    continue
                if learn_error is not None:
                    LOG.error('libplacement: learning from the agent '
                              'snapshots of %d hosts failed (%s); requests '
                              'of class auto use what was learned before.',
                              len(hosts), learn_error)
                elif self._learner is not None:
                    self.observations += 1
                self._merge(fresh.hosts(), dict(errors), time.time())
        finally:
            self._running = False

    def _fetch_and_learn(self, hosts):
        """Fetch hosts; the learner observes what arrived. Runs in a native
        thread: both C calls release the GIL. A failure to learn keeps the
        fetched snapshots: (cluster, errors, learn error or None)."""
        fresh, errors = self._fetcher.fetch(hosts)
        learn_error = None
        if self._learner is not None:
            try:
                self._learner.observe(fresh, now=time.time())
            except Exception as e:
                learn_error = e
        return fresh, errors, learn_error

    def _merge(self, docs, errors, now):
        """Add the fetched snapshots; report the hosts that have none."""
        refresh_at, expires_at = self._ttl / 2.0, self._ttl + self._skew
        # The fetcher already refused snapshots too old or dated in the
        # future by their own time (agent_ttl, agent_clock_skew): what
        # arrives here is fresh, and ages from now on.
        for doc in docs:
            host = doc['host']
            snap = HostSnapshot(doc, refresh_at, expires_at)
            self.last_errors.pop(host, None)
            held = self._held.get(host)
            if held is None or snap.time > held.time:
                # The same sweep again keeps the held object: what was
                # derived from it stays valid.
                self._held[host] = snap
            if self._logged.pop(host, None) is not None:
                LOG.info('libplacement: host %s has a fresh agent snapshot '
                         'again; using its measured demand', host)
        for host, snap in list(self._held.items()):
            if now > snap.expires_at:
                del self._held[host]
        self.last_errors.update(errors)
        self._report(errors, now)

    def _report(self, errors, now):
        """Log hosts without a usable snapshot, rate-limited."""
        mono = time.monotonic()
        due = [h for h in sorted(errors)
               if h not in self._held
               and mono - self._logged.get(h, -1e18) >= LOG_INTERVAL]
        for host in due:
            self._logged[host] = mono
        for host in due[:LOG_HOSTS]:
            LOG.warning('libplacement: no fresh agent snapshot for host %s '
                        '(%s); using its declared demand', host,
                        errors[host])
        if len(due) > LOG_HOSTS:
            LOG.warning('libplacement: %d more hosts have no fresh agent '
                        'snapshot and use their declared demand (each is '
                        'logged at most every %.0f s), e.g. %s',
                        len(due) - LOG_HOSTS, LOG_INTERVAL,
                        ', '.join(due[LOG_HOSTS:LOG_HOSTS + 5]))
