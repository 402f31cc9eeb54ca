"""Options of the ``[libplacement]`` group in zun.conf.

Listed for oslo-config-generator through the entry point
``oslo.config.opts: libplacement.zun = zun_driver.opts:list_opts``.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'libplacement',
    title='libplacement options',
    help='Parallelism-aware placement and runtime choice for Zun '
         '(zun_driver.filters.LibplacementFilter and the '
         'libplacement.docker container driver).')

WORKLOADS = [
    ('cpu', 'CPU-bound parallel work (default runtime: Kata)'),
    ('net', 'network-I/O-bound work (default runtime: runc)'),
    ('io', 'disk-I/O-bound work (default runtime: runc)'),
    ('mixed', 'CPU- and I/O-bound at once'),
    ('idle', 'does almost nothing'),
    ('unknown', 'unclassified: reserves its full cpu'),
    ('auto', 'classify from measurements; a new container has none, so '
             'this is unknown'),
]

# Names, types and defaults shared with nova_filter's [libplacement] group
# mean the same in both services.
OPTS = [
    cfg.FloatOpt(
        'max_parallel_ratio', default=1.0, min=0.01,
        help='A host passes while its demand (runnable threads) after '
             'placement stays within its logical CPUs times this ratio. '
             'Demand counts the full parallelism (cpu) of cpu, mixed and '
             'unclassified containers and the measured or estimated demand '
             'of net, io and idle ones.'),
    cfg.StrOpt(
        'default_workload', default='auto', choices=WORKLOADS,
        help='Workload class of containers without the label '
             'libplacement.workload. auto: unclassified (a new container has '
             'no measurements): it reserves its full cpu and runs in Zun\'s '
             'default runtime ([DEFAULT] container_runtime).'),
    cfg.DictOpt(
        'docker_runtimes',
        default={'container': 'runc',
                 'unikernel': 'kata-runtime',
                 'vm': 'kata-runtime'},
        help='Docker runtime name for each libplacement runtime '
             '(container, unikernel, vm). A host offers a libplacement '
             'runtime when Docker on it lists the mapped name. The default '
             'runs cpu-class containers in Kata (VM-isolated) and '
             'net/io-class containers in runc. Leave a runtime out to never '
             'choose it.'),
    cfg.DictOpt(
        'runtime_order', default={},
        help='Runtime preference per workload class, as class:rt1+rt2, e.g. '
             'cpu:unikernel+vm+container to let cpu-class containers fall '
             'back to runc on hosts without Kata. Classes not listed keep '
             'the core\'s defaults (cpu: unikernel, vm; net, io, idle: '
             'container, vm; mixed, unknown: vm).'),
    cfg.DictOpt(
        'policy', default={},
        help='Further policy parameters of the libplacement core by name '
             '(docs/policy.md), e.g. '
             'weight_spread:0.5,cpu_busy_fraction:0.6.'),
    cfg.BoolOpt(
        'fail_open', default=True,
        help='When libplacement cannot decide (bad label or option, internal '
             'error): True passes every host in Zun\'s order, as if the '
             'filter were not enabled; False passes none, so the container '
             'fails with NoValidHost. The error is logged either way.'),
    cfg.StrOpt(
        'agent_url',
        help='URL template of the libplacement-agent snapshot on each '
             'compute host, e.g. http://{host}:9180/v1/snapshot; {host} is '
             'replaced by the Zun compute host name. Unset (the default): '
             'demand is declared by Zun (host cpus and cpu_used). Set: '
             'measured snapshots refine it; hosts without a fresh snapshot '
             'fall back to declared demand.'),
    cfg.FloatOpt(
        'agent_timeout', default=1.0, min=0.05,
        help='Seconds allowed for one host\'s snapshot fetch. All hosts are '
             'fetched in parallel, so this also bounds the whole fetch.'),
    cfg.IntOpt(
        'agent_ttl', default=60, min=1,
        help='Seconds a snapshot stays fresh: it is reused by later '
             'requests, then fetched again.'),
    cfg.StrOpt(
        'agent_token', secret=True,
        help='Bearer token sent to the agents, if they require one.'),
]


def register_opts(conf):
    """Register the ``[libplacement]`` group on an oslo.config object."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """The options, as oslo-config-generator expects them."""
    return [(GROUP, OPTS)]
