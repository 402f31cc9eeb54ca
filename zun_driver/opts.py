"""Options of the ``[libplacement]`` group in zun.conf.

The options shared with the Nova plugin (``libplacement_oslo.opts``) plus the
Zun-only ones below. Listed for oslo-config-generator through the entry point
``oslo.config.opts: libplacement.zun = zun_driver.opts:list_opts``.
"""

from oslo_config import cfg

from libplacement_oslo import opts as common

GROUP = cfg.OptGroup(
    'libplacement',
    title='libplacement options',
    help='Parallelism-aware placement and runtime choice for Zun '
         '(zun_driver.filters.LibplacementFilter and the '
         'libplacement.docker container driver).')

OPTS = common.OPTS + [
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
]


def register_opts(conf):
    """Register the ``[libplacement]`` group on an oslo.config object."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """The options, as oslo-config-generator expects them."""
    return [(GROUP, OPTS)]
