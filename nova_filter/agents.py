"""Measured host snapshots from libplacement agents, fetched in the background.

When ``[libplacement] agent_url`` is set, the hosts a request considers are
fetched with ``libplacement.Fetcher`` (one libcurl-multi run for all of them)
in a native thread (``eventlet.tpool``), so Nova's eventlet loop never waits
on the network. Requests use the snapshots of the last completed refresh; a
refresh starts when the last one is older than half of ``agent_ttl``. A host
without a snapshot younger than ``agent_ttl`` (not fetched yet, agent down,
bad answer) falls back to declared demand, and this is logged once per host
until it has a fresh snapshot again.
"""

import time

import eventlet
from eventlet import tpool
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class Snapshot(object):
    """What the scheduler uses of one host's snapshot."""

    __slots__ = ('threads', 'demand', 'runtimes', 'workload_ids', 'groups',
                 'expires')

    def __init__(self, threads, demand, runtimes, workload_ids, groups,
                 expires):
        self.threads = threads
        self.demand = demand
        self.runtimes = runtimes
        self.workload_ids = workload_ids
        self.groups = groups
        self.expires = expires


def snapshots_from_cluster(cluster, expires):
    """host name -> Snapshot for every host of an lp.Cluster.

    Demand is the core's (lp_cluster_loads): the larger of the measured load
    and what the host's workloads reserve.
    """
    out = {}
    for host, load in zip(cluster.hosts(), cluster.loads(None)):
        groups = {}
        ids = set()
        for w in host.get('workloads') or ():
            ids.add(w.get('id'))
            g = w.get('group')
            if g:
                groups[g] = groups.get(g, 0) + 1
        out[host['host']] = Snapshot(float(load[0]), float(load[1]),
                                     int(load[3]), frozenset(ids), groups,
                                     expires)
    return out


class AgentSnapshots(object):
    """Background-refreshed cache of agent snapshots."""

    def __init__(self, lp, conf):
        self._ttl = float(conf.agent_ttl)
        self._snaps = {}
        self._errors = {}
        self._refreshing = False
        self._last_start = 0.0
        self._fallback_logged = set()
        fetcher_type = getattr(lp, 'Fetcher', None)
        self._fetcher = None
        if fetcher_type is None:
            LOG.warning('libplacement: [libplacement] agent_url is set but '
                        'this build of the libplacement module has no '
                        'Fetcher (built without libcurl?); using declared '
                        'demand for every host. Rebuild and install '
                        'libplacement with agent support.')
            return
        self._fetcher = fetcher_type(
            url_template=conf.agent_url,
            timeout_ms=int(conf.agent_timeout * 1000),
            ttl_s=int(conf.agent_ttl),
            token=conf.agent_token)

    def want(self, host_states):
        """Start a background refresh of these hosts if one is due."""
        if self._fetcher is None or self._refreshing:
            return
        now = time.monotonic()
        if now - self._last_start < self._ttl / 2.0:
            return
        self._refreshing = True
        self._last_start = now
        eventlet.spawn_n(self._refresh, [hs.host for hs in host_states])

    def _refresh(self, hosts):
        try:
            fresh, errors = tpool.execute(self._fetcher.fetch, hosts)
            self._snaps = snapshots_from_cluster(
                fresh, time.monotonic() + self._ttl)
            self._errors = errors
        except Exception as e:  # keep the last snapshots; retry when due
            LOG.error('libplacement: fetching agent snapshots failed (%s); '
                      'check [libplacement] agent_url and the agents. Hosts '
                      'fall back to declared demand as their snapshots '
                      'expire.', e)
        finally:
            self._refreshing = False

    def get(self, host):
        """The host's fresh Snapshot, or None (logged once per host)."""
        snap = self._snaps.get(host)
        if snap is not None and snap.expires > time.monotonic():
            self._fallback_logged.discard(host)
            return snap
        if self._fetcher is not None and host not in self._fallback_logged:
            self._fallback_logged.add(host)
            why = self._errors.get(host) or (
                'expired' if snap is not None else 'not fetched yet')
            LOG.info('libplacement: no fresh agent snapshot for host %s '
                     '(%s); using its declared demand', host, why)
        return None
