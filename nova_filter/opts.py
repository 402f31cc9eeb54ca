"""Options of the libplacement scheduler plugin: group ``[libplacement]``.

The options shared with the Zun plugin (``libplacement_oslo.opts``) plus the
Nova-only ones below. They are registered on Nova's global CONF when the
plugin is imported and listed for ``oslo-config-generator --namespace
libplacement.nova`` through the ``oslo.config.opts`` entry point
(``list_opts``).
"""

from oslo_config import cfg

from libplacement_oslo import opts as common

GROUP = cfg.OptGroup(
    'libplacement',
    title='libplacement scheduler plugin',
    help='Parallelism-aware placement: ParallelismFilter, RuntimeFilter '
         'and ParallelismWeigher from the nova_filter package (docs/nova.md '
         'shows how to enable them).')

# Nova-only options that set the libplacement core parameter of the same
# name (engine.Engine passes them to context_from_options).
CORE_PARAMS = ('weight_headroom', 'weight_colocate', 'weight_spread')

OPTS = common.OPTS + [
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
        'hypervisor_runtimes',
        default={'QEMU': 'vm+unikernel', 'KVM': 'vm+unikernel',
                 'Xen': 'vm+unikernel', 'LXC': 'container',
                 'docker': 'container'},
        help="""
Runtimes a host offers, by its hypervisor type, as ``type:rt1+rt2``. Used by
RuntimeFilter for hosts with neither a fresh agent snapshot nor the aggregate
metadata key ``libplacement_runtimes``.
"""),
    cfg.FloatOpt(
        'agent_clock_skew', default=10.0, min=0.0, max=3600.0,
        help="""
Seconds by which an agent's clock may differ from the scheduler's. A
snapshot is used while its time stamp is at most ``agent_ttl`` plus this
in the past; a time stamp more than this in the future is refused (the
host falls back to declared demand and the reason is logged: check NTP).
"""),
    cfg.FloatOpt(
        'scheduled_hold', default=300.0, min=0.0,
        help="""
Seconds an instance this scheduler placed keeps counting on its host while
the host does not list it yet, so that requests arriving at once (several
creates sent together) see each other's placements. It stops counting
earlier when the host lists it, its request failed, or Nova's database says
it is deleted, failed or on another host (see scheduled_check); after this
time, the compute's vcpus_used still counts an instance that is being
built.
"""),
    cfg.FloatOpt(
        'scheduled_check', default=10.0, min=0.0,
        help="""
Seconds between checks, in the background, of the instances this scheduler
placed that still count on their hosts (see scheduled_hold) and were placed
at least this long ago: one query of the API database's instance mappings
and one query per cell for all of them. Those deleted, failed (vm_state
error) or on another host stop counting. 0 turns the check off: a server
deleted before a request saw its host list it then counts until
scheduled_hold passes.
"""),
    cfg.ListOpt(
        'default_runtimes', default=['vm'],
        help='Runtimes offered by hosts whose hypervisor type is not in '
             'hypervisor_runtimes.'),
]


def register_opts(conf):
    """Register the ``[libplacement]`` group and options on conf."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Options for oslo-config-generator (entry point libplacement.nova)."""
    return [(GROUP, OPTS)]
