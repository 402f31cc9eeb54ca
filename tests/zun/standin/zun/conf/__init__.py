"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun.conf.CONF is oslo.config's global CONF, with the options the plugin and
the stand-in read, same types and defaults as Zun:
[DEFAULT] container_driver, container_runtime, default_cpu, default_memory
(zun/conf/container_driver.py), host (zun/conf/netconf.py),
default_image_driver (zun/conf/image_driver.py); [scheduler] driver,
available_filters, enabled_filters (zun/conf/scheduler.py); [compute]
initial_cpu_allocation_ratio, initial_ram_allocation_ratio
(zun/conf/compute.py); [docker] docker_remote_api_version and
default_registry (zun/conf/docker.py); and
[keystone_auth], keystoneauth's auth and session options, from which Zun's
report client reaches Placement (zun/conf/keystone.py,
zun/common/keystone.py).
"""

import socket

from keystoneauth1 import loading as ka_loading
from oslo_config import cfg

CONF = cfg.CONF

CONF.register_opts([
    cfg.StrOpt('container_driver', default='docker',
               help='Container driver (entry point zun.container.driver).'),
    cfg.StrOpt('container_runtime', default='runc',
               help='Default Docker runtime of containers.'),
    cfg.FloatOpt('default_cpu', default=1.0,
                 help='CPUs of a container that names none.'),
    cfg.IntOpt('default_memory', default=512,
               help='Memory (MB) of a container that names none.'),
    cfg.HostAddressOpt('host', default=socket.gethostname(),
                       help='Name of this host (zun-compute: its node).'),
    cfg.StrOpt('default_image_driver', default='docker',
               help='Image driver of containers that name none.'),
])
CONF.register_opts([
    cfg.StrOpt('driver', default='filter_scheduler',
               help='Scheduler driver (the stand-in has only this one).'),
    cfg.MultiStrOpt('available_filters',
                    default=['zun.scheduler.filters.all_filters'],
                    help='Filter classes (or functions returning them).'),
    cfg.ListOpt('enabled_filters',
                default=['AvailabilityZoneFilter', 'ComputeFilter',
                         'RuntimeFilter'],
                help='Names of the filters applied, in order.'),
], group='scheduler')
CONF.register_opts([
    cfg.FloatOpt('initial_cpu_allocation_ratio', default=16.0,
                 help='VCPU allocation ratio of a new node in Placement.'),
    cfg.FloatOpt('initial_ram_allocation_ratio', default=1.5,
                 help='MEMORY_MB allocation ratio of a new node in '
                      'Placement.'),
], group='compute')
CONF.register_opts([
    cfg.StrOpt('docker_remote_api_version', default='1.26',
               help='Docker remote API version.'),
    cfg.StrOpt('default_registry',
               help='Registry of images that name no registry domain.'),
], group='docker')
ka_loading.register_auth_conf_options(CONF, 'keystone_auth')
ka_loading.register_session_conf_options(CONF, 'keystone_auth')
