"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun.conf.CONF is oslo.config's global CONF, with the options the plugin and
the stand-in read: [DEFAULT] container_driver and container_runtime,
[scheduler] available_filters and enabled_filters (same types and defaults
as Zun), [docker] docker_remote_api_version.
"""

from oslo_config import cfg

CONF = cfg.CONF

CONF.register_opts([
    cfg.StrOpt('container_driver', default='docker',
               help='Container driver (entry point zun.container.driver).'),
    cfg.StrOpt('container_runtime', default='runc',
               help='Default Docker runtime of containers.'),
])
CONF.register_opts([
    cfg.MultiStrOpt('available_filters',
                    default=['zun.scheduler.filters.all_filters'],
                    help='Filter classes (or functions returning them).'),
    cfg.ListOpt('enabled_filters',
                default=['AvailabilityZoneFilter', 'ComputeFilter',
                         'RuntimeFilter'],
                help='Names of the filters applied, in order.'),
], group='scheduler')
CONF.register_opts([
    cfg.StrOpt('docker_remote_api_version', default='1.26',
               help='Docker remote API version.'),
], group='docker')
