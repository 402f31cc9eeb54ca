"""Watcher's compute model as a libplacement cluster.

Each compute node becomes a host of a cluster file (docs/formats.md):

* **measured**, when its libplacement agent answered: the agent's snapshot
  as it is, plus the node's instances the snapshot does not list yet
  (booted since), as declared workloads;
* **declared** otherwise: ``threads`` = the node's vCPUs (Placement's VCPU
  total: its logical CPUs), memory = Placement's capacity
  ``(memory - reserved) x ratio``, and one workload per instance.

A declared instance runs in a ``vm`` and reserves what the scheduler
reserves for it (nova_filter): the class of its flavor's extra spec
``libplacement:workload`` (else ``[libplacement] default_workload``;
``auto`` has nothing to classify and is ``unknown``) and the parallelism
``libplacement:parallelism`` (else its vCPUs). Its group is the server
metadata key ``libplacement_group``: Watcher cannot read scheduler hints.

A node that is disabled or down offers no runtime, so nothing moves there;
its instances may still move away. Workloads Watcher must not live-migrate
stay where they are (``pinned``): instances excluded by the audit scope,
locked or not active, and whatever an agent reports that is not an
instance of that node in Watcher's model.
"""

import json

import libplacement as lp
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# What a Nova compute runs: virtual machines, full or unikernel.
DECLARED_RUNTIMES = ('unikernel', 'vm')
INSTANCE_RUNTIME = 'vm'
GROUP_METADATA = 'libplacement_group'
WORKLOAD_SPEC = 'libplacement:workload'
PARALLELISM_SPEC = 'libplacement:parallelism'


class ClusterInput(object):
    """The cluster the planner sees, and what Watcher may do with it.

    hosts      snapshot dicts, one per compute node, in the model's order
    pinned     {workload id: why Watcher must not move it}
    sources    {host name: 'measured' or 'declared'}
    instances  {instance uuid: (element.Instance, element.ComputeNode)}
    skipped    {node hostname: why it is not in the cluster}
    """

    def __init__(self):
        self.hosts = []
        self.pinned = {}
        self.sources = {}
        self.instances = {}
        self.skipped = {}

    def to_json(self):
        """The cluster file text for ``libplacement.Cluster.from_json``."""
        return json.dumps({'hosts': self.hosts})


def flavor_reservation(uuid, extra_specs, default_workload):
    """(class, parallelism) an instance's flavor declares; 0 = its vCPUs.

    Values Nova's validators would refuse (flavors made before the
    validators were installed) are logged and replaced by the defaults.
    """
    specs = extra_specs or {}
    klass = specs.get(WORKLOAD_SPEC, default_workload)
    if klass == 'auto':
        klass = 'unknown'
    if klass not in lp.CLASSES:
        LOG.warning('libplacement: instance %(uuid)s: flavor extra spec '
                    '%(key)s=%(value)r is not a workload class; counting '
                    'the instance as unknown (its full vCPUs)',
                    {'uuid': uuid, 'key': WORKLOAD_SPEC, 'value': klass})
        klass = 'unknown'
    parallelism = 0.0
    raw = specs.get(PARALLELISM_SPEC)
    if raw not in (None, ''):
        try:
            parallelism = float(raw)
        except ValueError:
            parallelism = -1.0
        if not parallelism > 0 or parallelism == float('inf'):
            LOG.warning('libplacement: instance %(uuid)s: flavor extra spec '
                        '%(key)s=%(value)r is not a positive number; using '
                        'its vCPUs', {'uuid': uuid, 'key': PARALLELISM_SPEC,
                                      'value': raw})
            parallelism = 0.0
    return klass, parallelism


def _group(instance):
    value = (instance.metadata or {}).get(GROUP_METADATA)
    return str(value) if value else None


def _why_pinned(instance):
    if instance.watcher_exclude:
        return 'excluded by the audit scope'
    if instance.locked:
        return 'locked'
    if instance.state != 'active':
        return ('in state %s (only active instances are live-migrated)'
                % instance.state)
    return None


def _can_receive(node):
    return node.status == 'enabled' and node.state == 'up'


def declared_workload(instance, reservation):
    """One instance as a declared snapshot workload.

    A flavor's ``libplacement:parallelism`` stands in for the instance's
    vCPUs: the core reserves a declared workload's vCPUs (cpu, mixed,
    unknown class) or its class's estimate per vCPU (net, io, idle), as the
    scheduler reserves the parallelism of a request.
    """
    klass, parallelism = reservation
    w = {'id': instance.uuid, 'runtime': INSTANCE_RUNTIME, 'class': klass}
    vcpus = parallelism if parallelism > 0 else float(instance.vcpus)
    if vcpus > 0:
        w['vcpus'] = vcpus
    if instance.memory > 0:
        w['memory_mb'] = float(instance.memory)
    group = _group(instance)
    if group:
        w['group'] = group
    return w


def _declared_host(node, instances, reservations):
    host = {'host': node.hostname, 'cpu': {'threads': int(node.vcpus)},
            'runtimes': list(DECLARED_RUNTIMES) if _can_receive(node) else [],
            'workloads': [declared_workload(i, reservations(i))
                          for i in instances]}
    memory = node.memory_mb_capacity
    if memory > 0:
        host['memory_mb'] = float(memory)
    return host


def _measured_host(snapshot, node, instances, reservations, pinned):
    host = dict(snapshot, host=node.hostname)
    if not _can_receive(node):
        host['runtimes'] = []
    by_uuid = {i.uuid: i for i in instances}
    workloads = []
    for w in host.get('workloads') or ():
        w = dict(w)
        instance = by_uuid.pop(w['id'], None)
        if instance is None:
            pinned[w['id']] = ('reported by the agent of %s but not an '
                               'instance of that node in Watcher\'s model'
                               % node.hostname)
            workloads.append(w)
            continue
        klass, parallelism = reservations(instance)
        if klass != 'unknown':
            # The flavor declares the class, as the scheduler counts it: a
            # cpu-class server measured idle keeps its parallelism (it may
            # wake at any moment, docs/model.md); the measured demand stays.
            w['class'] = klass
            w['vcpus'] = parallelism if parallelism > 0 else float(instance.vcpus)
        if not w.get('group') and _group(instance):
            w['group'] = _group(instance)
        workloads.append(w)
    # Instances booted after the snapshot was taken: declared.
    for instance in by_uuid.values():
        w = declared_workload(instance, reservations(instance))
        workloads.append(w)
        if 'memory_used_mb' in host and 'memory_mb' in w:
            host['memory_used_mb'] += w['memory_mb']
    host['workloads'] = workloads
    return host


def build(model, reservations, snapshots):
    """The ClusterInput of a Watcher compute model.

    :param model: the audit's compute model (ModelRoot).
    :param reservations: callable(element.Instance) -> (class, parallelism)
                         as flavor_reservation returns it.
    :param snapshots: {node hostname: snapshot dict} of the agents that
                      answered; may be empty.
    """
    out = ClusterInput()
    nodes = sorted(model.get_all_compute_nodes().values(),
                   key=lambda n: n.hostname)
    for node in nodes:
        if node.vcpus < 1:
            out.skipped[node.hostname] = 'reports no vCPUs'
            LOG.warning('libplacement: compute node %s reports no vCPUs; '
                        'left out of the plan', node.hostname)
            continue
        instances = sorted(model.get_node_instances(node),
                           key=lambda i: i.uuid)
        for instance in instances:
            out.instances[instance.uuid] = (instance, node)
            why = _why_pinned(instance)
            if why:
                out.pinned[instance.uuid] = why
        snapshot = snapshots.get(node.hostname)
        if snapshot is not None:
            out.hosts.append(_measured_host(snapshot, node, instances,
                                            reservations, out.pinned))
            out.sources[node.hostname] = 'measured'
        else:
            out.hosts.append(_declared_host(node, instances, reservations))
            out.sources[node.hostname] = 'declared'
    return out
