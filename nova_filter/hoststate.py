"""HostState -> the per-host numbers libplacement wants.

libplacement's batch calls take one 5-tuple per host::

    (threads, demand, memory_free_mb, runtimes_mask, group_members)

Demand has one rule, the core's (``Cluster.loads()``): the larger of the
host's measured load and the sum of what its workloads reserve. This module
only describes each host to the core as a snapshot-shaped dict:

* the host: its agent's fresh snapshot (measured threads, load, runtimes
  and workloads) or, without one, the threads Nova knows (``vcpus_total``;
  without it the ``cpu_info`` topology) and no measured load;
* one workload per instance the scheduler knows on the host: the host's
  ``HostState.instances`` and the instances this scheduler process placed
  or is placing there that the host does not list yet (``Placements``).
  Each carries the class and declared parallelism (as ``vcpus``) of its
  flavor. When the
  snapshot lists the instance (workload id = instance UUID), the measured
  workload is used with the flavor's class and parallelism: it reserves
  the larger of its measured demand and its entitlement; an instance of an
  unclassified flavor keeps the agent's class. Instances the snapshot does
  not list count their declared demand; an instance of an ``auto`` flavor
  declares the class and demand learned for its image (else flavor) as its
  request did, while the learner trusts one (``learned``), else it is
  unclassified; the snapshot's other workloads (services, containers)
  count as the agent measured them;
* the vCPUs the compute node reports in use (``vcpus_used``) beyond those of
  these instances and of the snapshot's other instance workloads, as one
  unclassified workload: instances being built or migrated that the
  scheduler does not list yet, ``reserved_host_cpus``. Never zero load.

Group members per host (for spread and co-location) are counted here from
the same instances, with the group the scheduler knows for each: the
``libplacement_group`` hint of its RequestSpec, or else its Nova server
group (``server-group:<uuid>``).

memory_free_mb is -1 (not checked: Placement claims memory); runtimes_mask:
see ``RuntimeSource``.

Costs. A host's values are derived once and reused while their inputs are
unchanged (compute node record update time, the tracked instance dict's
identity and length, aggregates, agent snapshot, placements on the host,
the learned answers its declared ``auto`` instances used);
the hosts of one call that need deriving go to the core in one Cluster. The
values of one request are also kept on the HostState itself, so that the
filter, the weigher and every instance of a multi-create reuse them. Each
instance is resolved once per UUID (its RequestSpec read once).
"""

import json
import time

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects

LOG = logging.getLogger(__name__)

# Attribute of a HostState that holds its values for the current request.
MEMO_ATTR = '_libplacement_memo'
# Workload id of the vCPUs a compute uses beyond the instances known here.
UNLISTED_ID = 'nova-unlisted-vcpus'
# Distinct host descriptions whose loads are kept (then forgotten at once).
LOADS_KEPT = 65536
SERVER_GROUP_PREFIX = 'server-group:'


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
        # The 5-tuple for requests without a group on the host (the common
        # case), built once. Parallelism decisions leave runtimes to
        # RuntimeFilter: all runtimes.
        self.plain = (threads, demand, -1.0, all_runtimes, 0.0)


def host_threads(host_state):
    """Logical CPUs of a host: vcpus_total, else the cpu_info topology.

    vcpus_total is what the driver lets guests use (libvirt: the host CPUs
    left after cpu_shared_set / cpu_dedicated_set), so it wins; the
    topology (sockets x cores x threads) is only used when a driver reports
    no vCPU count (libvirt's sockets are per NUMA cell, so the product can
    undercount multi-socket hosts).
    """
    threads = int(host_state.vcpus_total or 0)
    if threads > 0:
        return threads
    # A host that reports no CPUs at all (not updated yet) can take nothing
    # parallel: one thread, never zero (the core requires threads > 0).
    return _topology_threads(host_state.cpu_info) or 1


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


def group_name(hint):
    """The libplacement group of a scheduler hint value, or None."""
    if isinstance(hint, list):
        hint = hint[0] if hint else None
    return str(hint) if hint else None


def server_group(spec):
    """The RequestSpec's Nova server group (InstanceGroup), or None."""
    if not spec.obj_attr_is_set('instance_group'):
        return None
    return spec.instance_group or None


def server_group_name(group):
    return SERVER_GROUP_PREFIX + str(group.uuid)


def spec_image(spec):
    """The image id a RequestSpec starts from, or None (boot from volume
    without image metadata)."""
    image = spec.image if spec.obj_attr_is_set('image') else None
    if image is None or not image.obj_attr_is_set('id'):
        return None
    return image.id or None


def spec_groups(spec):
    """The groups an instance belongs to: its libplacement_group hint and
    its Nova server group (each when it has one), as a tuple."""
    names = []
    name = group_name(spec.get_scheduler_hint('libplacement_group'))
    if name is not None:
        names.append(name)
    sg = server_group(spec)
    if sg is not None and sg.obj_attr_is_set('uuid'):
        names.append(server_group_name(sg))
    return tuple(names)


class Declared(object):
    """What one instance declares: class and parallelism of its flavor, and
    the groups it belongs to.

    ``learn`` is the key its class is learned by (``Engine.learned``) when
    its flavor's class is ``auto`` and the scheduler learns, else None;
    ``image`` the image it was started from.
    """

    __slots__ = ('klass', 'parallelism', 'vcpus', 'groups', 'flavorid',
                 'image', 'learn')

    def __init__(self, klass, parallelism, vcpus, groups, flavorid, image,
                 learn):
        self.klass = klass
        self.parallelism = parallelism
        self.vcpus = vcpus
        self.groups = groups
        self.flavorid = flavorid
        self.image = image
        self.learn = learn


class InstanceCatalog(object):
    """What each known instance declares, resolved once per instance UUID.

    The flavor, image and group come from the instance's RequestSpec (or
    from the request that placed it, for instances this scheduler placed);
    when there is none, from the instance's own flavor (no group, no
    image).
    """

    def __init__(self, resolver):
        # resolver(flavor, image) -> (class, parallelism, learn key)
        self._resolver = resolver
        self._entries = {}
        self._admin_ctx = None

    def __len__(self):
        return len(self._entries)

    def retain(self, live):
        """Forget instances not in live (deleted or moved away)."""
        self._entries = {u: e for u, e in self._entries.items() if u in live}

    def remember(self, uuid, flavor, groups, image=None):
        """Record an instance's flavor, groups and image (None: unknown);
        return its entry."""
        klass, parallelism, learn = self._resolver(flavor, image)
        entry = Declared(klass, parallelism, float(flavor.vcpus), groups,
                         flavor.flavorid, image, learn)
        self._entries[uuid] = entry
        return entry

    def entry(self, uuid, instance):
        """The entry of an instance, loading it on first sight.

        Returns None when nothing is known about the instance (no
        RequestSpec, no flavor): its vCPUs are counted from vcpus_used.
        """
        entry = self._entries.get(uuid)
        if entry is not None:
            if (instance is not None and instance.obj_attr_is_set('flavor')
                    and instance.flavor.flavorid != entry.flavorid):
                # Resized since we resolved it.
                return self.remember(uuid, instance.flavor, entry.groups,
                                     entry.image)
            return entry
        if instance is None:
            return None
        return self._load(uuid, instance)

    def _load(self, uuid, instance):
        if self._admin_ctx is None:
            self._admin_ctx = nova_context.get_admin_context()
        try:
            spec = objects.RequestSpec.get_by_instance_uuid(
                self._admin_ctx, uuid)
            flavor = spec.flavor
            if instance.obj_attr_is_set('flavor'):
                flavor = instance.flavor
            return self.remember(uuid, flavor, spec_groups(spec),
                                 spec_image(spec))
        except nova_exception.RequestSpecNotFound:
            pass
        except Exception as e:  # the scheduler must not fail on our lookup
            LOG.warning('libplacement: cannot read the RequestSpec of '
                        'instance %(uuid)s (%(err)s); using its flavor '
                        'without group', {'uuid': uuid, 'err': e})
        if instance.obj_attr_is_set('flavor'):
            return self.remember(uuid, instance.flavor, ())
        return None


class Placements(object):
    """Instances this scheduler process placed, or is placing, that their
    host does not list yet.

    Nova builds new HostState objects for every request, so what a request
    placed on a host is invisible to the next one until the compute reports
    the instance. And requests interleave: many are filtered and weighed
    before the first one's claim in Placement returns and Nova consumes the
    chosen host. So an instance is recorded twice:

    * chosen: when the plugin's weigher (or, when one host is left, its
      filter) sees which host Nova will pick; it counts there for
      ``choice_hold`` seconds unless confirmed or moved;
    * placed: when Nova consumes the host (``consume_from_request``); it
      counts there until the host lists it, its request failed (Nova then
      resets the HostState's ``updated``), or ``hold`` seconds pass (by
      then the compute's vcpus_used counts it if it is still building).

    Either stops counting earlier when Nova's database says its instance
    is gone, failed or on another host (``held.HeldCheck``, in the
    background).
    """

    def __init__(self, hold, choice_hold):
        self._hold = hold
        self._choice_hold = choice_hold
        # host -> {uuid: (monotonic time, HostState, confirmed)}
        self._by_host = {}
        self._host_of = {}   # uuid -> host

    def __len__(self):
        return len(self._host_of)

    def add(self, host, uuid, host_state, confirmed):
        """Record uuid on host (moving it from another host)."""
        old = self._host_of.get(uuid)
        if old is not None and old != host:
            self.forget(uuid)
        self._by_host.setdefault(host, {})[uuid] = (
            time.monotonic(), host_state, confirmed)
        self._host_of[uuid] = host
        return old

    def has(self, host):
        return host in self._by_host

    def uuids(self):
        return self._host_of.keys()

    def held(self, recorded_before):
        """(uuid, host, when) of the placements recorded at or before the
        monotonic time recorded_before."""
        return [(uuid, host, entry[0])
                for host, placed in self._by_host.items()
                for uuid, entry in placed.items()
                if entry[0] <= recorded_before]

    def drop(self, uuid, host, when):
        """Forget uuid if it is still the placement held() reported (on
        host, recorded at when): not one recorded since. Returns whether it
        was forgotten."""
        entry = self._by_host.get(host, {}).get(uuid)
        if entry is None or entry[0] != when:
            return False
        self.forget(uuid)
        return True

    def forget(self, uuid):
        host = self._host_of.pop(uuid, None)
        if host is not None:
            placed = self._by_host[host]
            placed.pop(uuid, None)
            if not placed:
                del self._by_host[host]

    def pending(self, host, listed):
        """UUIDs recorded on host and not listed by it; forgets the
        others."""
        placed = self._by_host.get(host)
        if not placed:
            return ()
        now = time.monotonic()
        out = []
        for uuid, (when, hs, confirmed) in list(placed.items()):
            if confirmed:
                # consume_from_request set updated; a failed request
                # resets it to None.
                gone = when < now - self._hold or hs.updated is None
            else:
                gone = when < now - self._choice_hold
            if gone or uuid in listed:
                self.forget(uuid)
            else:
                out.append(uuid)
        return out


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

    On a HostState, MEMO_ATTR holds (generation, HostValues) for the current
    request; across requests HostValues are kept per host name with the
    inputs they came from.

    ``learned(key)`` is ``Engine.learned``: (class, added, source) of a
    declared instance whose class is learned (``Declared.learn``).
    """

    def __init__(self, lp, generation, catalog, placements, runtimes,
                 snapshots, learned):
        self._lp = lp
        self._generation = generation
        self._catalog = catalog
        self._placements = placements
        self._runtimes = runtimes
        self._all = lp.RUNTIME_ALL
        self._snapshots = snapshots
        self._learned = learned
        # host name -> (update time, instances, len, snapshot, aggregate
        # ids, HostValues, aggregates, learned answers used)
        self._values = {}
        # Catalog size that triggers forgetting instances no host holds.
        self._prune_at = 4096
        # host description (JSON) -> the core's load tuple
        self._loads_by_text = {}

    def forget_host(self, host):
        """Drop a host's values kept for later requests (its placements
        changed)."""
        self._values.pop(host, None)

    def values(self, host_states):
        """HostValues of every host, in order."""
        gen = self._generation
        out = [None] * len(host_states)
        derive = []
        for i, hs in enumerate(host_states):
            m = hs.__dict__.get(MEMO_ATTR)
            if m is None or m[0] != gen:
                derive.append(i)
            else:
                out[i] = m[1]
        if derive:
            self._fill(host_states, derive, out)
        if self._snapshots is not None:
            self._snapshots.start_refresh()
        return out

    def tuples(self, host_states, group):
        """5-tuples for a request of the given core group."""
        out = []
        append = out.append
        for v in self.values(host_states):
            if group is None or group not in v.groups:
                append(v.plain)
            else:
                append((v.threads, v.demand, -1.0, self._all,
                        float(v.groups[group])))
        return out

    def _fill(self, host_states, indexes, out):
        """HostValues of host_states[i] for i in indexes, into out.

        Reused while these inputs are unchanged: the compute node record
        (vcpus_total, vcpus_used, cpu_info, hypervisor_type) by its update
        time; Nova's tracked instance dict (changed in place) by identity
        and length; aggregates (objects replaced when their metadata or
        hosts change) by identity; the agent snapshot by identity; the
        learned answers its declared ``auto`` instances used, by value
        (the engine keeps them, so this asks the learner once per key, not
        per host). Changes of a host's placements drop its entry
        (forget_host); a host with placements is derived anew for every
        request, as they expire.
        """
        gen = self._generation
        snapshots = self._snapshots
        placed = self._placements.has
        now = time.time()
        cache = self._values
        todo = []
        for i in indexes:
            hs = host_states[i]
            instances = hs.instances
            aggregates = hs.aggregates
            aggs = tuple(map(id, aggregates)) if aggregates else ()
            snap = snapshots.get(hs.host, now) if snapshots else None
            c = cache.get(hs.host)
            if (c is not None and c[0] == hs.updated and c[1] is instances
                    and c[2] == len(instances) and c[3] is snap
                    and c[4] == aggs and not placed(hs.host)
                    and self._same_learned(c[7])):
                v = c[5]
                hs.__dict__[MEMO_ATTR] = (gen, v)
                out[i] = v
            else:
                todo.append((i, hs, snap, aggs))
        if not todo:
            return
        described = [self._describe(hs, snap) for _i, hs, snap, _a in todo]
        loads = self._core_loads([d[0] for d in described])
        for (i, hs, snap, aggs), (_doc, groups, used), load in zip(
                todo, described, loads):
            if snap is not None:
                runtimes, rt_source = int(load[3]), 'agent snapshot'
                source = 'agent snapshot'
            else:
                runtimes, rt_source = self._runtimes.for_host(hs)
                source = 'declared'
            v = HostValues(float(load[0]), float(load[1]), groups, runtimes,
                           rt_source, source, self._all)
            # The entry holds the instance dict, snapshot and (through the
            # HostState's list) aggregates it names, so identities stay
            # valid.
            cache[hs.host] = (hs.updated, hs.instances, len(hs.instances),
                              snap, aggs, v, hs.aggregates, used)
            hs.__dict__[MEMO_ATTR] = (gen, v)
            out[i] = v
        self._prune()

    def _same_learned(self, used):
        """Whether the learned answers a host's values used still hold."""
        learned = self._learned
        for key, answer in used:
            if learned(key)[:2] != answer:
                return False
        return True

    def _core_loads(self, docs):
        """The core's (threads, demand, ...) of every host dict, in order.

        Hosts described alike (same threads and same declared workloads,
        as in a cloud of few flavors) are asked of the core once: by their
        JSON text, kept for later calls.
        """
        known = self._loads_by_text
        if len(known) > LOADS_KEPT:
            known.clear()
        texts = [json.dumps(doc) for doc in docs]
        new = list({t: None for t in texts if t not in known})
        if new:
            # Named by position: a cluster's names must be unique.
            cluster = self._lp.Cluster.from_json(
                '{"hosts":[%s]}' % ','.join(
                    '{"host":"%d",%s' % (n, t[1:]) for n, t in enumerate(new)),
                origin='nova_filter hosts')
            known.update(zip(new, cluster.loads(None)))
        return [known[t] for t in texts]

    def _describe(self, hs, snap):
        """(snapshot-shaped dict, {group: members}, learned answers used)
        of one host.

        The learned answers used are ((learn key, (class, added)), ...)
        for the declared instances of ``auto`` flavors.
        """
        instances = hs.instances
        placements = self._placements
        entry_of = self._catalog.entry
        host = hs.host
        pending = placements.pending(host, instances) \
            if placements.has(host) else ()
        measured = {}
        others = []
        if snap is not None:
            for w in snap.doc.get('workloads') or ():
                if w['id'] in instances or w['id'] in pending:
                    measured[w['id']] = w
                else:
                    others.append(w)
        workloads = []
        declared = []
        used = []
        groups = {}
        known_vcpus = 0.0
        for uuid in list(instances) + list(pending):
            entry = entry_of(uuid, instances.get(uuid))
            if entry is None:
                continue
            known_vcpus += entry.vcpus
            for g in entry.groups:
                groups[g] = groups.get(g, 0) + 1
            w = measured.get(uuid)
            if w is None and entry.learn is not None:
                # Declared as its request was resolved: the learned class,
                # reserving its learned demand (or its parallelism).
                klass, added = self._learned(entry.learn)[:2]
                used.append((entry.learn, (klass, added)))
                declared.append((klass, entry.parallelism, added))
            elif w is None:
                declared.append((entry.klass, entry.parallelism, -1.0))
            else:
                w = dict(w, vcpus=entry.parallelism)
                if entry.klass != 'unknown' or 'class' not in w:
                    w['class'] = entry.klass
                workloads.append(w)
        for w in others:
            # Instances Nova does not list on this host (being built,
            # migrating): their vCPUs are in vcpus_used.
            if uuidutils.is_uuid_like(w['id']):
                known_vcpus += float(w.get('vcpus') or 0)
            workloads.append(w)
        # Declared workloads in a canonical order, named by position: the
        # same instances describe the same host (see _core_loads). A
        # learned demand is given as demand: the core reserves it for net,
        # io and idle classes and the larger of it and vcpus for the others.
        declared.sort()
        for n, (klass, vcpus, demand) in enumerate(declared):
            w = {'id': 'declared-%d' % n, 'vcpus': vcpus, 'class': klass}
            if demand >= 0:
                w['demand'] = demand
            workloads.append(w)
        unlisted = float(hs.vcpus_used or 0) - known_vcpus
        if unlisted > 0:
            workloads.append({'id': UNLISTED_ID, 'vcpus': unlisted,
                              'class': 'unknown'})
        if snap is not None:
            doc = dict(snap.doc, workloads=workloads)
            doc.pop('host', None)
        else:
            doc = {'cpu': {'threads': host_threads(hs)},
                   'workloads': workloads}
        return doc, groups, tuple(used)

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
        live.update(self._placements.uuids())
        self._catalog.retain(live)
        self._prune_at = max(4096, 2 * len(self._catalog))
