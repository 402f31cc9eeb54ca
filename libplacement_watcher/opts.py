"""Options of the Watcher plugin: group ``[libplacement]`` of watcher.conf.

The options the Nova and Zun plugins share (``libplacement_oslo.opts``:
policy, runtime order, default workload class, agents), so that a copy of
nova.conf's ``[libplacement]`` section makes Watcher judge hosts exactly as
the scheduler does. ``fail_open`` is left out: it steers a scheduler's
answer when it cannot decide, while an audit that cannot decide fails and
says why. Registered on Watcher's global CONF when the strategy or the
action is imported, and listed for ``oslo-config-generator --namespace
libplacement.watcher`` (entry point ``oslo.config.opts``).
"""

from oslo_config import cfg

from libplacement_oslo import opts as common

GROUP = cfg.OptGroup(
    'libplacement',
    title='libplacement rebalancing for Watcher',
    help='Options of the goal parallelism_cap and the strategy '
         'libplacement_rebalance (docs/watcher.md). Keep them equal to the '
         '[libplacement] options of nova.conf, so that Watcher and the '
         'scheduler count demand and caps alike.')

OPTS = [opt for opt in common.OPTS if opt.name != 'fail_open']


def register_opts(conf):
    """Register the ``[libplacement]`` group and options on conf."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Options for oslo-config-generator (entry point libplacement.watcher)."""
    return [(GROUP, OPTS)]
