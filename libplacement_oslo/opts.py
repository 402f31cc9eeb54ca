"""The ``[libplacement]`` options shared by the Nova and Zun plugins.

``nova_filter.opts`` and ``zun_driver.opts`` register ``OPTS`` together with
their own options in their own group, and list them for
oslo-config-generator under their own namespace (``libplacement.nova``,
``libplacement.zun``). ``context_from_options`` turns the policy options into
a ``libplacement.Context``.
"""

from oslo_config import cfg

WORKLOADS = [
    ('cpu', 'CPU-bound parallel work'),
    ('net', 'network-I/O-bound work'),
    ('io', 'disk-I/O-bound work'),
    ('mixed', 'CPU- and I/O-bound at once'),
    ('idle', 'does almost nothing'),
    ('unknown', 'unclassified: reserves its full parallelism'),
    ('auto', 'the class learned from running instances of the same image '
             '(or flavor) when the agents measured enough of them, else '
             'unknown'),
]

OPTS = [
    cfg.FloatOpt(
        'max_parallel_ratio', default=1.0, min=0.01,
        help="""
Cap on a host's parallel demand, as a multiple of its hardware
threads (logical CPUs).

A host passes the filter (Nova: ParallelismFilter, Zun:
LibplacementFilter) while its demand (runnable threads) after
placing the request stays within ``threads x max_parallel_ratio``.
Demand counts the full parallelism of cpu, mixed and unclassified
instances or containers and the measured (or estimated) demand of
net, io and idle ones. 1.0 keeps parallel work within the hardware
threads; raise it (up to 16) to allow oversubscription.
"""),
    cfg.StrOpt(
        'default_workload', default='auto', choices=WORKLOADS,
        help="""
Workload class of requests that name none: Nova flavors without the
extra spec ``libplacement:workload``, Zun containers without the
label ``libplacement.workload``.

``auto`` takes the class that running instances of the same image
(else flavor) were measured to be, once the agents measured at least
``learn_min_instances`` of them agreeing with ``learn_min_confidence``
(docs/learn.md); until then the request is unclassified
(``unknown``) and reserves its full parallelism (the flavor's vCPUs,
the container's cpu); in Zun it also runs in Zun's default runtime
(``[DEFAULT] container_runtime``). Set ``idle`` to let such requests
reserve only their estimated demand.
"""),
    cfg.DictOpt(
        'runtime_order', default={},
        help="""
Runtime preference per workload class, as ``class:rt1+rt2``, e.g.
``cpu:unikernel+vm+container,net:container+vm`` (in Zun the first
lets cpu-class containers fall back to runc on hosts without Kata).
Classes not listed keep the core's defaults (cpu: unikernel, vm;
net, io, idle: container, vm; mixed, unknown: vm).
"""),
    cfg.DictOpt(
        'policy', default={},
        help="""
Further policy parameters of the libplacement core, as
``name:number`` (see docs/policy.md and ``lpctl``), e.g.
``cpu_busy_fraction:0.6``. They are set after the other options, so
a name given here overrides the option of that name. A name or value
the core refuses is logged and the fail_open behaviour applies.
"""),
    cfg.BoolOpt(
        'fail_open', default=True,
        help="""
What the scheduler plugin does when it cannot decide (an invalid
option, flavor extra spec or container label, an internal error, the
libplacement module failing): True passes every host (in Nova
weighed equally, in Zun in Zun's order), as if the plugin were not
enabled; False passes none, so requests fail with NoValidHost until
the error is fixed. The error is logged either way.
"""),
    cfg.StrOpt(
        'agent_url', default=None,
        help="""
URL template of the libplacement agent's snapshot on each compute
host, ``{host}`` replaced by the compute host name the scheduler
knows, e.g. ``http://{host}:9180/v1/snapshot``. Unset (the default):
demand is declared (by the instances' flavors in Nova, by the host's
cpus and cpu_used in Zun). Set: measured snapshots are fetched and
refine the demand; hosts without a fresh snapshot fall back to
declared demand.
"""),
    cfg.FloatOpt(
        'agent_timeout', default=1.0, min=0.05,
        help="""
Seconds allowed for one host's snapshot fetch (connect included).

Hosts are fetched 64 at a time, a new transfer starting as soon as
one ends, so a fetch of N hosts whose agents all hang lasts about
ceil(N / 64) x agent_timeout (1,000 hanging agents: 16 x
agent_timeout). The fetch runs beside the scheduler, never inside a
scheduling request; a host without a fresh snapshot uses its
declared demand meanwhile.
"""),
    cfg.IntOpt(
        'agent_ttl', default=60, min=1,
        help='Seconds a snapshot stays fresh, by its own time stamp (the '
             'agent\'s clock at its last sweep): an older snapshot is not '
             'used for decisions, whatever the agent answered, and its host '
             'falls back to declared demand until a fresh one arrives.'),
    cfg.StrOpt(
        'agent_token', default=None, secret=True,
        help='Bearer token sent to the agents, if they require one.'),
    cfg.StrOpt(
        'agent_ca_file', default=None,
        help="""
PEM file of the CA(s) that signed the agents' TLS certificates, for an
``https://`` agent_url. Unset: the system's CA store. A host whose
agent's certificate does not chain to them, or does not name the
host, gets no snapshot (its declared demand is used) and the reason
is logged.
"""),
    cfg.IntOpt(
        'learn_min_instances', default=3, min=1,
        help="""
Running instances of an image (or, when the image says nothing, of a
flavor; in Zun the ``libplacement.flavor`` label) that the agents
must have measured before a request of class ``auto`` takes their
class (docs/learn.md). Each instance counts once; instances not seen
for an hour are forgotten. Learning needs ``agent_url``: without
agents, ``auto`` requests stay unclassified.
"""),
    cfg.FloatOpt(
        'learn_min_confidence', default=0.7, min=0.0, max=1.0,
        help="""
Confidence a learned class needs before a request of class ``auto``
takes it: the share of the measured instances that agree on their
most frequent class times their mean classification confidence. In
Zun, on a rebuild, also the confidence the container's own measured
class needs to decide its runtime.
"""),
]


def _refused(option, what, error):
    return ValueError('[libplacement] %s: %s is refused: %s'
                      % (option, what, error))


def context_from_options(group, own_params=()):
    """A new libplacement.Context set from the options of ``group``.

    Sets, in this order: max_parallel_ratio; the caller's own options named
    in ``own_params`` (each sets the core parameter of the same name); every
    entry of ``policy``; every entry of ``runtime_order``.

    :param group: the registered ``[libplacement]`` group, e.g.
                  ``CONF.libplacement``.
    :param own_params: names of options of ``group`` that are core policy
                       parameters.
    :returns: the Context, owned by the caller; like every Context it must
              not be used by two threads at once.
    :raises ValueError: naming the option and the value that is not a number
                        or that the core refuses.
    :raises ImportError: if the libplacement module is not installed.
    """
    # Deferred: listing the options needs no compiled module.
    import libplacement as lp

    ctx = lp.Context()
    for name in ('max_parallel_ratio',) + tuple(own_params):
        value = getattr(group, name)
        try:
            ctx.set(name, value)
        except (lp.Error, ValueError) as e:
            raise _refused(name, value, e) from e
    for name, value in sorted(group.policy.items()):
        try:
            number = float(value)
        except ValueError:
            raise ValueError('[libplacement] policy: %s=%r is not a number'
                             % (name, value)) from None
        try:
            ctx.set(name, number)
        except (lp.Error, ValueError) as e:
            raise _refused('policy', '%s=%r' % (name, value), e) from e
    for klass, order in sorted(group.runtime_order.items()):
        runtimes = [r.strip() for r in order.split('+') if r.strip()]
        try:
            ctx.set_runtime_order(klass, ','.join(runtimes))
        except (lp.Error, ValueError) as e:
            raise _refused('runtime_order', '%s=%r' % (klass, order), e) \
                from e
    return ctx
