"""HostState -> the per-host numbers libplacement wants.

libplacement's batch calls take one 5-tuple per host::

    (threads, demand, memory_free_mb, runtimes_mask, group_members)

This module derives them from what Nova already knows about a host (declared
demand) and, when agents are configured, from the host's fresh snapshot
(measured demand):

threads
    The host's logical CPUs: ``vcpus_total``; when a driver reports none,
    the ``cpu_info`` topology (sockets x cores x threads).
demand
    The demand each instance on the host reserves, as the core resolves it
    from the instance's flavor (vCPUs and ``libplacement:*`` extra specs):
    full parallelism for cpu, mixed and unclassified instances, the
    estimated demand for net, io and idle ones. With a fresh snapshot, its
    measured demand plus the declared demand of instances it does not list
    yet (just placed, still building).
memory_free_mb
    -1 (not checked): Placement already claims memory.
runtimes_mask
    See ``RuntimeSource``.
group_members
    Instances of the request's ``libplacement_group`` on the host.

Costs. Instances are resolved once per instance UUID (one RequestSpec read,
kept while a host holds the instance; the first request after a scheduler
restart therefore reads one RequestSpec per instance). A host's derived
values are kept per host name and reused while what they depend on is
unchanged (compute node record update time, the tracked instance dict's
identity and length, aggregates, agent snapshot). Nova builds new HostState
objects for every scheduling request; the values of one request are kept on
the HostState itself, so that the filter, the weigher and every instance of a
multi-create request reuse them.

Multi-create. Nova's ``consume_from_request`` adds an instance placed earlier
in the same request to ``num_instances`` (and ``vcpus_used``) of the chosen
HostState but not always to ``instances``. The values kept on the HostState
record ``num_instances`` when the request first saw the host; every instance
counted since then was placed by this request, so it adds the request's own
demand (and group membership) once per instance.
"""

import json

from oslo_log import log as logging

from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects

LOG = logging.getLogger(__name__)

# Attribute of a HostState that holds its values for the current request.
MEMO_ATTR = '_libplacement_memo'


class HostValues(object):
    """What libplacement needs of one host, shared by requests while the
    inputs it was derived from are unchanged."""

    __slots__ = ('threads', 'demand', 'groups', 'runtimes', 'runtime_source',
                 'demand_source', 'plain')

    def __init__(self, threads, demand, groups, runtimes, runtime_source,
                 demand_source, all_runtimes):
        self.threads = threads
        self.demand = demand
        self.groups = groups
        self.runtimes = runtimes
        self.runtime_source = runtime_source
        self.demand_source = demand_source
        # The 5-tuple for requests without a group before any placement of
        # the current request (the common case), built once. Parallelism
        # decisions leave runtimes to RuntimeFilter: all runtimes.
        self.plain = (threads, demand, -1.0, all_runtimes, 0.0)


def host_threads(host_state):
    """Logical CPUs of a host: vcpus_total, else the cpu_info topology.

    vcpus_total is what the driver lets guests use (libvirt: the host CPUs
    left after cpu_shared_set / cpu_dedicated_set), so it wins; the
    topology (sockets x cores x threads) is only used when a driver reports
    no vCPU count (libvirt's sockets are per NUMA cell, so the product can
    undercount multi-socket hosts).
    """
    threads = float(host_state.vcpus_total or 0)
    if threads > 0:
        return threads
    # A host that reports no CPUs at all (not updated yet) can take nothing
    # parallel: one thread, never zero (the core requires threads > 0).
    return float(_topology_threads(host_state.cpu_info) or 1)


def _topology_threads(cpu_info):
    """sockets x cores x threads from a driver's cpu_info, or 0."""
    if not cpu_info:
        return 0
    try:
        info = json.loads(cpu_info) if isinstance(cpu_info, str) else cpu_info
        topo = info.get('topology') or {}
        n = 1
        for key in ('sockets', 'cores', 'threads'):
            n *= int(topo[key])
        return n if n > 0 else 0
    except (ValueError, TypeError, KeyError, AttributeError):
        return 0


class InstanceCatalog(object):
    """What each known instance reserves, resolved once per instance UUID.

    An entry is (demand, vcpus, group, flavorid). The flavor and the
    ``libplacement_group`` hint come from the instance's RequestSpec; when
    there is none, from the instance's own flavor (no group).
    """

    def __init__(self, resolver):
        # resolver(vcpus, extra_specs) -> demand one such instance reserves
        self._resolver = resolver
        self._entries = {}
        self._admin_ctx = None

    def __len__(self):
        return len(self._entries)

    def retain(self, live):
        """Forget instances not in live (deleted or moved away)."""
        self._entries = {u: e for u, e in self._entries.items() if u in live}

    def remember(self, uuid, flavor, group):
        """Record an instance's flavor and group; return its entry."""
        entry = (self._resolver(flavor.vcpus, flavor.extra_specs),
                 float(flavor.vcpus), group, flavor.flavorid)
        self._entries[uuid] = entry
        return entry

    def entry(self, uuid, instance):
        """The entry of an instance on a host, loading it on first sight.

        Returns None when nothing is known about the instance (no
        RequestSpec, no flavor): the caller counts it from vcpus_used.
        """
        entry = self._entries.get(uuid)
        if entry is not None:
            if (instance.obj_attr_is_set('flavor')
                    and instance.flavor.flavorid != entry[3]):
                # Resized since we resolved it.
                return self.remember(uuid, instance.flavor, entry[2])
            return entry
        return self._load(uuid, instance)

    def _load(self, uuid, instance):
        if self._admin_ctx is None:
            self._admin_ctx = nova_context.get_admin_context()
        try:
            spec = objects.RequestSpec.get_by_instance_uuid(
                self._admin_ctx, uuid)
            group = spec.get_scheduler_hint('libplacement_group')
            flavor = spec.flavor
            if instance.obj_attr_is_set('flavor'):
                flavor = instance.flavor
            return self.remember(uuid, flavor, group_name(group))
        except nova_exception.RequestSpecNotFound:
            pass
        except Exception as e:  # the scheduler must not fail on our lookup
            LOG.warning('libplacement: cannot read the RequestSpec of '
                        'instance %(uuid)s (%(err)s); using its flavor '
                        'without group', {'uuid': uuid, 'err': e})
        if instance.obj_attr_is_set('flavor'):
            return self.remember(uuid, instance.flavor, None)
        return None


def group_name(hint):
    if isinstance(hint, list):
        hint = hint[0] if hint else None
    return str(hint) if hint else None


class RuntimeSource(object):
    """Which runtimes a host offers, and where that came from.

    Rules, first that applies:
      1. a fresh agent snapshot of the host: its ``runtimes``;
      2. the aggregate metadata key ``libplacement_runtimes`` (comma-separated
         runtime names) of the host's aggregates; several aggregates: union;
      3. ``[libplacement] hypervisor_runtimes`` for the host's hypervisor
         type; 4. otherwise ``[libplacement] default_runtimes``.
    """

    AGGREGATE_KEY = 'libplacement_runtimes'

    def __init__(self, lp, conf):
        self._lp = lp
        # hypervisor type -> (mask, where it came from)
        self._by_hypervisor = {
            hv: (lp.runtime_mask(_split_runtimes(value, '+')),
                 'hypervisor type %s' % hv)
            for hv, value in conf.hypervisor_runtimes.items()}
        self._default = lp.runtime_mask(
            [r.strip() for r in conf.default_runtimes if r.strip()])
        self._bad_aggregates = set()

    def for_host(self, host_state):
        mask = 0
        from_aggregates = False
        for agg in host_state.aggregates:
            value = agg.metadata.get(self.AGGREGATE_KEY)
            if value is None:
                continue
            try:
                mask |= self._lp.runtime_mask(_split_runtimes(value, ','))
                from_aggregates = True
            except ValueError as e:
                if agg.id not in self._bad_aggregates:
                    self._bad_aggregates.add(agg.id)
                    LOG.error('libplacement: aggregate %(agg)s metadata '
                              '%(key)s=%(value)r is invalid (%(err)s); fix '
                              'it to a comma-separated list of container, '
                              'unikernel, vm. Ignoring it.',
                              {'agg': agg.name, 'key': self.AGGREGATE_KEY,
                               'value': value, 'err': e})
        if from_aggregates:
            return mask, 'aggregate metadata'
        hv = host_state.hypervisor_type
        found = self._by_hypervisor.get(hv)
        if found is None:
            found = (self._default,
                     'default_runtimes (hypervisor type %s)' % hv)
            self._by_hypervisor[hv] = found
        return found


def _split_runtimes(value, sep):
    return [r.strip() for r in value.split(sep) if r.strip()]


class HostLoads(object):
    """Derives, caches and hands out the per-host values.

    On a HostState, MEMO_ATTR holds (generation, num_instances at first
    sight, HostValues) for the current request; across requests HostValues
    are kept per host name with the inputs they came from.
    """

    def __init__(self, generation, catalog, runtimes, all_runtimes,
                 snapshots=None):
        self._generation = generation
        self._catalog = catalog
        self._runtimes = runtimes
        self._all = all_runtimes
        self._snapshots = snapshots
        # host name -> (update time, instances, len, snapshot, aggregate
        # ids, HostValues, aggregates)
        self._values = {}
        # Catalog size that triggers forgetting instances no host holds.
        self._prune_at = 4096

    def _memos(self, host_states):
        """(generation, num_instances at first sight, HostValues) per host."""
        if self._snapshots is not None:
            self._snapshots.want(host_states)
        gen = self._generation
        host_values = self._host_values
        out = []
        append = out.append
        for hs in host_states:
            d = hs.__dict__
            m = d.get(MEMO_ATTR)
            if m is None or m[0] != gen:
                m = d[MEMO_ATTR] = (gen, hs.num_instances, host_values(hs))
            append(m)
        self._prune()
        return out

    def values(self, host_states):
        """HostValues of every host, in order."""
        return [m[2] for m in self._memos(host_states)]

    def tuples(self, host_states, added, group):
        """5-tuples for a request adding `added` demand per instance.

        Instances this request placed earlier (multi-create) are those
        counted in num_instances since the request first saw the host.
        """
        out = []
        append = out.append
        for hs, m in zip(host_states, self._memos(host_states)):
            v = m[2]
            placed = hs.num_instances - m[1]
            if placed <= 0:
                if group is None or group not in v.groups:
                    append(v.plain)
                    continue
                placed = 0
            members = 0.0
            if group is not None:
                members = float(v.groups.get(group, 0) + placed)
            append((v.threads, v.demand + placed * added, -1.0, self._all,
                    members))
        return out

    def _host_values(self, hs):
        # Reused while these inputs are unchanged: the compute node record
        # (vcpus_total, vcpus_used, cpu_info, hypervisor_type) by its update
        # time; Nova's tracked instance dict (changed in place) by identity
        # and length; aggregates (objects replaced when their metadata or
        # hosts change) by identity; the agent snapshot by identity.
        instances = hs.instances
        aggregates = hs.aggregates
        aggs = tuple(map(id, aggregates)) if aggregates else ()
        snap = None
        if self._snapshots is not None:
            snap = self._snapshots.get(hs.host)
        c = self._values.get(hs.host)
        if (c is not None and c[0] == hs.updated and c[1] is instances
                and c[2] == len(instances) and c[3] is snap
                and c[4] == aggs):
            return c[5]
        if snap is not None:
            threads, demand, groups = self._with_snapshot(hs, snap)
            runtimes, rt_source = snap.runtimes, 'agent snapshot'
            source = 'agent snapshot'
        else:
            threads, demand, groups = self._declared(hs)
            runtimes, rt_source = self._runtimes.for_host(hs)
            source = 'declared'
        v = HostValues(threads, demand, groups, runtimes, rt_source, source,
                       self._all)
        # The entry holds the instance dict, snapshot and (through the
        # HostState's list) aggregates it names, so identities stay valid.
        self._values[hs.host] = (hs.updated, instances, len(instances), snap,
                                 aggs, v, aggregates)
        return v

    def _prune(self):
        """Forget instances that no known host holds any more.

        Called after all hosts of a call are derived, so that every host's
        instances are in self._values.
        """
        if len(self._catalog) <= self._prune_at:
            return
        live = set()
        for entry in self._values.values():
            live.update(entry[1])
        self._catalog.retain(live)
        self._prune_at = max(4096, 2 * len(self._catalog))

    def _declared(self, hs):
        instances = hs.instances
        demand = 0.0
        known_vcpus = 0.0
        unknown = 0
        groups = {}
        entry_of = self._catalog.entry
        for uuid, inst in list(instances.items()):
            entry = entry_of(uuid, inst)
            if entry is None:
                unknown += 1
                continue
            demand += entry[0]
            known_vcpus += entry[1]
            if entry[2] is not None:
                groups[entry[2]] = groups.get(entry[2], 0) + 1
        if unknown:
            # Instances we know nothing about still hold the vCPUs the
            # compute node reports: count those, never zero load.
            demand += max(0.0, float(hs.vcpus_used or 0) - known_vcpus)
        return host_threads(hs), demand, groups

    def _with_snapshot(self, hs, snap):
        """Measured values of a snapshot plus what it does not list yet."""
        demand = snap.demand
        groups = dict(snap.groups)
        entry_of = self._catalog.entry
        for uuid, inst in list(hs.instances.items()):
            if uuid in snap.workload_ids:
                continue
            entry = entry_of(uuid, inst)
            if entry is None:
                continue
            demand += entry[0]
            if entry[2] is not None:
                groups[entry[2]] = groups.get(entry[2], 0) + 1
        return snap.threads, demand, groups
