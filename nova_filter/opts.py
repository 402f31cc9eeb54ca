"""Options of the libplacement scheduler plugin: group ``[libplacement]``.

They are registered on Nova's global CONF when the plugin is imported and
listed for ``oslo-config-generator --namespace libplacement.nova`` through the
``oslo.config.opts`` entry point (``list_opts``).
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'libplacement',
    title='libplacement scheduler plugin',
    help='Parallelism-aware placement: ParallelismFilter, RuntimeFilter '
         'and ParallelismWeigher from the nova_filter package (docs/nova.md '
         'shows how to enable them).')

WORKLOADS = ('cpu', 'net', 'io', 'mixed', 'idle', 'auto')

OPTS = [
    cfg.FloatOpt(
        'max_parallel_ratio', default=1.0, min=0.01,
        help="""
Cap on a host's parallel demand, as a multiple of its hardware threads.

A host passes ParallelismFilter while its demand after placing the instance
stays within ``threads x max_parallel_ratio``. Demand counts the full
parallelism of cpu, mixed and unclassified instances and the measured (or
estimated) demand of net, io and idle ones. 1.0 keeps parallel work within the
physical threads; raise it to allow oversubscription.
"""),
    cfg.StrOpt(
        'default_workload', default='auto', choices=WORKLOADS,
        help="""
Workload class assumed for flavors without ``libplacement:workload``.

``auto`` classifies from agent measurements when there are any and otherwise
treats the instance as unclassified, which reserves its full parallelism
(vCPUs). Set ``idle`` to let untagged flavors reserve only their estimated
demand.
"""),
    cfg.FloatOpt(
        'weight_multiplier', default=1.0,
        help="""
Multiplier of ParallelismWeigher (headroom for parallel work, co-location of
communicating group members, spread of cpu-class groups). Negative values
invert it. The aggregate metadata key ``libplacement_weight_multiplier``
overrides it for the hosts of an aggregate.
"""),
    cfg.FloatOpt(
        'weight_headroom', default=1.0, min=0.0,
        help='Weight of the headroom term of the score (free parallelism '
             'after placement, as a fraction of the cap).'),
    cfg.FloatOpt(
        'weight_colocate', default=1.0, min=0.0,
        help='Weight of the co-location term: bonus for a host that already '
             'runs members of a net or io class request\'s group.'),
    cfg.FloatOpt(
        'weight_spread', default=0.5, min=0.0,
        help='Weight of the spread term: penalty for the parallelism of a '
             'cpu or mixed class request\'s group already on the host.'),
    cfg.DictOpt(
        'policy', default={},
        help="""
Further policy parameters of the libplacement core, by name (see
docs/policy.md and ``lpctl``), e.g. ``cpu_busy_fraction:0.6``. A name or value
the core refuses is logged and the fail_open behaviour applies.
"""),
    cfg.DictOpt(
        'runtime_order', default={},
        help="""
Runtime preference per workload class, as ``class:rt1+rt2``, e.g.
``cpu:unikernel+vm,net:container+vm``. Classes not listed keep the core's
defaults (cpu: unikernel, vm; net, io, idle: container, vm; mixed: vm).
"""),
    cfg.DictOpt(
        'hypervisor_runtimes',
        default={'QEMU': 'vm+unikernel', 'KVM': 'vm+unikernel',
                 'Xen': 'vm+unikernel', 'LXC': 'container',
                 'docker': 'container'},
        help="""
Runtimes a host offers, by its hypervisor type, as ``type:rt1+rt2``. Used by
RuntimeFilter for hosts with neither a fresh agent snapshot nor the aggregate
metadata key ``libplacement_runtimes``.
"""),
    cfg.ListOpt(
        'default_runtimes', default=['vm'],
        help='Runtimes offered by hosts whose hypervisor type is not in '
             'hypervisor_runtimes.'),
    cfg.BoolOpt(
        'fail_open', default=True,
        help="""
What the plugin does when it cannot decide (an internal error, an invalid
policy, the libplacement module failing): True passes every host and weighs
them all equally, so Nova schedules as if the plugin were not enabled; False
refuses every host, so requests fail with NoValidHost until the error is
fixed. The error is logged either way.
"""),
    cfg.StrOpt(
        'agent_url', default=None,
        help="""
URL template of the libplacement agent's snapshot on each compute host,
``{host}`` replaced by the compute service's host name, e.g.
``http://{host}:9180/v1/snapshot``. Unset (the default): demand is declared
from the instances' flavors only. Set: measured snapshots are fetched in the
background and refine the demand; hosts without a fresh snapshot fall back to
declared demand.
"""),
    cfg.FloatOpt(
        'agent_timeout', default=1.0, min=0.05,
        help='Seconds allowed for one host\'s snapshot fetch.'),
    cfg.IntOpt(
        'agent_ttl', default=60, min=1,
        help='Seconds a snapshot stays fresh; older ones are fetched again '
             'and are not used for decisions.'),
    cfg.StrOpt(
        'agent_token', default=None, secret=True,
        help='Bearer token sent to the agents, if they require one.'),
]


def register_opts(conf):
    """Register the ``[libplacement]`` group and options on conf."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Options for oslo-config-generator (entry point libplacement.nova)."""
    return [(GROUP, OPTS)]
