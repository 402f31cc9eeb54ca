"""Per-host numbers for libplacement: agents, Zun's host states, Placement."""

import libplacement as lp

from zun_driver import request as lp_request


class HostLoads(object):
    """The 5-tuples that ``Context.filter_score`` takes, one per HostState.

    threads and demand:

    - declared (no fresh agent snapshot): the host's ``cpus`` and its
      ``cpu_used`` (what the containers zun-compute has claimed reserve),
      plus every consumer Placement holds against the node that the node
      has not reported: containers being created (claimed in Placement by
      zun-api, not yet by zun-compute) and foreign consumers (e.g. Nova
      servers on a node shared with Nova);
    - measured (fresh snapshot): the snapshot's threads and demand (the
      larger of measured load and what its workloads reserve), plus every
      consumer Placement holds against the node that the snapshot does not
      list (not started yet, stopped, or not yet seen by the agent).

    A Zun container counts with the demand libplacement adds for it (its
    cpu, or the estimate of its class); a foreign consumer with its VCPU.

    memory free: ``mem_total - mem_used`` minus the memory Placement holds
    for consumers the node has not reported (-1 when the host reports no
    memory).  runtimes: what Zun reports of Docker.

    group members: the Zun containers of the group that Placement holds
    against the node, whether or not a snapshot lists them, plus workloads
    of the group that a snapshot lists and that are none of them (each
    container counts once, whichever id the agent gives it).
    """

    def __init__(self, agents, consumers, container_demand):
        """
        :param agents: AgentSnapshots, or None without agents.
        :param consumers: {hostname: [consumers.Consumer]} from Placement.
        :param container_demand: function: Zun Container -> the demand it
                                 adds to a host.
        """
        self._agents = agents
        self._consumers = consumers
        self._container_demand = container_demand

    def loads(self, host_states, group, runtime_masks):
        """Loads for host_states (a list), in the same order.

        :param group: placement group of the request, or None.
        :param runtime_masks: one libplacement runtime mask per host.
        """
        return [self._load(host, group, mask)
                for host, mask in zip(host_states, runtime_masks)]

    def _load(self, host, group, mask):
        snap = (self._agents.get(host.hostname)
                if self._agents is not None else None)
        if snap is not None:
            threads, demand = snap.threads, snap.demand
        else:
            threads = float(host.cpus or 0)
            demand = float(host.cpu_used or 0)
        memory_free = (float(host.mem_total - (host.mem_used or 0))
                       if host.mem_total else -1.0)
        members = 0
        member_ids = set()
        for consumer in self._consumers.get(host.hostname, ()):
            ids = consumer.ids()
            reported = consumer.reported_by(host.hostname)
            listed = snap.groups.keys() & ids if snap is not None else reported
            if not listed:
                demand += self._demand(consumer)
            if not reported and memory_free >= 0:
                memory_free -= consumer.memory_mb
            if (group is not None and consumer.container is not None and
                    lp_request.container_group(consumer.container) == group):
                members += 1
                member_ids |= ids
        if group is not None and snap is not None:
            members += sum(1 for wid, g in snap.groups.items()
                           if g == group and wid not in member_ids)
        return (threads, demand, memory_free, mask, float(members))

    def _demand(self, consumer):
        if consumer.container is None:
            return consumer.vcpus
        return self._container_demand(consumer.container)


def runtime_masks(host_states, runtime_map, decides):
    """Runtime masks per host: what Docker offers, or all when not deciding.

    When libplacement does not pick the runtime, runtimes do not constrain
    the verdict (Zun's RuntimeFilter checks a user's choice).
    """
    if not decides:
        return [lp.RUNTIME_ALL] * len(host_states)
    return [runtime_map.mask(h.runtimes) for h in host_states]
