"""Per-host numbers for libplacement, from agents or from Zun's HostState."""

import libplacement as lp
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class HostLoads(object):
    """The 5-tuples that ``Context.filter_score`` takes, one per HostState.

    Declared (no agent, or no fresh snapshot for the host): threads = the
    host's cpus, demand = its cpu_used (what its containers reserve), no
    group members known.  Measured (fresh agent snapshot): threads, demand
    and group members from the snapshot.  Memory and runtimes always come
    from Zun: they are what Zun accounts for and what Docker will accept.
    """

    def __init__(self, fetcher=None):
        self._fetcher = fetcher

    @staticmethod
    def memory_free_mb(host_state):
        """Free memory in MB, or -1 when the host does not report it."""
        if not host_state.mem_total:
            return -1.0
        return float(host_state.mem_total - (host_state.mem_used or 0))

    def loads(self, host_states, group, runtime_masks):
        """Loads for host_states (a list), in the same order.

        :param group: placement group of the request, or None.
        :param runtime_masks: one libplacement runtime mask per host.
        """
        measured = self._measured([h.hostname for h in host_states], group)
        loads = []
        for host, mask in zip(host_states, runtime_masks):
            snap = measured.get(host.hostname)
            if snap is not None:
                threads, demand, _mem, _mask, members = snap
            else:
                threads = float(host.cpus or 0)
                demand = float(host.cpu_used or 0)
                members = 0.0
            loads.append((threads, demand, self.memory_free_mb(host), mask,
                          members))
        return loads

    def _measured(self, hostnames, group):
        """host name -> snapshot load tuple, for hosts with fresh snapshots."""
        if self._fetcher is None or not hostnames:
            return {}
        fresh, errors = self._fetcher.fetch(hostnames)
        for host, message in sorted(errors.items()):
            LOG.warning('libplacement: no snapshot from %s (%s); using '
                        'declared demand', host, message)
        if not len(fresh):
            return {}
        names = [snap['host'] for snap in fresh.hosts()]
        return dict(zip(names, fresh.loads(group)))


def runtime_masks(host_states, runtime_map, decides):
    """Runtime masks per host: what Docker offers, or all when not deciding.

    When libplacement does not pick the runtime, runtimes do not constrain
    the verdict (Zun's RuntimeFilter checks a user's choice).
    """
    if not decides:
        return [lp.RUNTIME_ALL] * len(host_states)
    return [runtime_map.mask(h.runtimes) for h in host_states]
