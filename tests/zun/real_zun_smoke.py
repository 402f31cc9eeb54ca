"""zun_driver against a real Zun source tree instead of the stand-in.

Not part of `make check` (Zun is not packaged in Debian); run by
`make check-zun-real ZUN_SRC=/path/to/zun` (docs/zun.md).

1. Filters: loads the filter the way Zun's FilterScheduler does, builds real
   HostStates from compute-node records and real Container objects, runs
   Zun's own filter handler with Zun's RuntimeFilter and
   LibplacementFilter, and imports the driver subclass of Zun's real
   DockerDriver; the image name a container is learned by, from Zun's own
   parse_image_name.
2. Burst: Zun's own database code (SQLite), objects, SchedulerClient,
   FilterScheduler, SchedulerReportClient and ComputeNodeTracker against a
   real Placement service (tests/zun/placement_service.py): 17 two-CPU cpu
   containers created on 4 nodes of 8 CPUs, the zun-compute claims landing
   never during the burst, or each one request late; every request with a
   new scheduler (as zun-api builds per request) and a new plugin process
   state (as if each came from another zun-api worker).
"""

import collections
import os
import subprocess
import sys
import tempfile
import uuid

import zun.conf
from zun.container.docker import driver as docker_driver
from zun import objects
from zun.scheduler import filters
from zun.scheduler import host_state

from zun_driver import consumers as lp_consumers
from zun_driver import driver as lp_driver
from zun_driver import filters as lp_filters
from zun_driver import request as lp_request

CONF = zun.conf.CONF
AVAILABLE = ['zun.scheduler.filters.all_filters',
             'zun_driver.filters.LibplacementFilter']


class ComputeNode(object):
    """The compute-node fields HostState.update() reads."""

    def __init__(self, cpus, cpu_used, runtimes):
        self.rp_uuid = str(uuid.uuid4())
        self.mem_total, self.mem_used = 32768, 1024
        self.mem_free = self.mem_available = self.mem_total - self.mem_used
        self.cpus, self.cpu_used = cpus, cpu_used
        self.disk_total, self.disk_used = 100, 0
        self.numa_topology = self.pci_device_pools = self.updated_at = None
        self.labels = {}
        self.disk_quota_supported = self.enable_cpu_pinning = False
        self.runtimes = runtimes


def host(name, cpu_used, runtimes):
    state = host_state.HostState(name)
    state.update(compute_node=ComputeNode(8, cpu_used, runtimes))
    return state


def container(workload, runtime=None, unset_runtime=False):
    """A Container as after its DB insert (every field set), or with the
    runtime field never set."""
    fields = {'uuid': str(uuid.uuid4()), 'name': 'c', 'cpu': 2.0,
              'memory': '512', 'labels': {'libplacement.workload': workload}}
    if not unset_runtime:
        fields['runtime'] = runtime
    return objects.Container(None, **fields)


def main():
    CONF([], project='zun')
    CONF.set_override('available_filters', AVAILABLE, group='scheduler')
    handler = filters.HostFilterHandler()
    by_name = {cls.__name__: cls for cls in handler.get_matching_classes(
        CONF.scheduler.available_filters)}
    enabled = [by_name['RuntimeFilter'](), by_name['LibplacementFilter']()]
    kata = ['runc', 'kata-runtime']
    hosts = [host('runc-only', 0, ['runc']), host('kata-busy', 5, kata),
             host('kata-idle', 1, kata), host('full', 7, kata)]

    def run(cnt):
        # Filtering alone, no Placement claim follows: forget the picks.
        lp_consumers.PICKS = lp_consumers.Picks()
        got = handler.get_filtered_objects(enabled, hosts, cnt,
                                           {'hints': None})
        return [h.hostname for h in got]

    assert issubclass(lp_driver.LibplacementDockerDriver,
                      docker_driver.DockerDriver)
    cnt = container('cpu')
    got = run(cnt)
    assert got == ['kata-idle', 'kata-busy'], got
    assert cnt.runtime == 'kata-runtime'
    # Zun's own RuntimeFilter cannot read an unset runtime; the plugin can
    cnt = container('cpu', unset_runtime=True)
    lp_consumers.PICKS = lp_consumers.Picks()
    got = lp_filters.LibplacementFilter().filter_all(hosts, cnt, {})
    assert [h.hostname for h in got] == ['kata-idle', 'kata-busy']
    assert cnt.runtime == 'kata-runtime'
    cnt = container('net')
    assert run(cnt)[0] == 'runc-only' and cnt.runtime == 'runc'
    cnt = container('cpu', runtime='runc')
    assert run(cnt) == ['runc-only', 'kata-idle', 'kata-busy']
    assert cnt.runtime == 'runc'
    cnt = container('bogus')        # logged; fail-open keeps Zun's order
    assert run(cnt) == [h.hostname for h in hosts]
    # The image as zun-compute hands it to Docker, which lists it so (and
    # the agent reports it so).
    for image, image_driver, expected in [
            ('nginx', 'docker', 'nginx:latest'),
            ('reg.example.com:5000/a/b:2', 'docker',
             'reg.example.com:5000/a/b:2'),
            ('cirros', 'glance', 'cirros'),
            ('Bad Name', 'docker', None)]:
        cnt = objects.Container(None, image=image, image_driver=image_driver,
                                registry_id=None)
        assert lp_request.container_image(cnt) == expected, (image, expected)
    print('zun_driver runs against real Zun: ok')


class Node(object):
    """One zun-compute: its node row, service row and resource provider,
    and Zun's own ComputeNodeTracker for its claims."""

    def __init__(self, context, name):
        from zun.compute import compute_node_tracker
        from zun.scheduler.client import report

        self.name = name
        node = objects.ComputeNode(context)
        node.uuid = str(uuid.uuid4())
        node.rp_uuid = node.uuid
        node.hostname = name
        node.numa_topology = objects.NUMATopology(nodes=[])
        node.mem_total = node.mem_free = node.mem_available = 32768
        node.mem_used = 0
        node.cpus, node.cpu_used = 8, 0.0
        node.disk_total, node.disk_used = 100, 0
        node.disk_quota_supported = node.enable_cpu_pinning = False
        node.labels = {}
        node.runtimes = ['runc', 'kata-runtime']
        node.total_containers = node.running_containers = 0
        node.paused_containers = node.stopped_containers = 0
        node.architecture = node.os_type = node.os = None
        node.kernel_version = None
        node.create(context)
        objects.ZunService(context, host=name, binary='zun-compute',
                           disabled=False, report_count=0).create()
        client = report.SchedulerReportClient()
        client._ensure_resource_provider(context, node.rp_uuid, name=name)
        client.set_inventory_for_provider(context, node.rp_uuid, {
            'VCPU': {'total': 8, 'max_unit': 8, 'allocation_ratio': 16.0,
                     'reserved': 0, 'min_unit': 1, 'step_size': 1},
            'MEMORY_MB': {'total': 32768, 'max_unit': 32768,
                          'allocation_ratio': 1.5, 'reserved': 0,
                          'min_unit': 1, 'step_size': 1}})
        self.tracker = compute_node_tracker.ComputeNodeTracker(
            name, NodeDriver(), None, client)
        # The claim's last step re-sends the node's inventory, which a
        # claim does not change; its provider-tree copy needs zun-compute's
        # eventlet-patched locks.  Host and cpu_used are saved before it.
        self.tracker._update_to_placement = lambda context, node: None

    def claim(self, context, container):
        """zun-compute's claim: container.host and the node's cpu_used."""
        with self.tracker.container_claim(context, container, None, {}):
            pass


def burst(context, nodes, late_by):
    """17 creates; claims land ``late_by`` requests late (None: after)."""
    from zun.common import exception
    from zun.scheduler.client import query

    from zun_driver import consumers

    casts, created = [], []
    for i in range(17):
        consumers.PICKS = consumers.Picks()      # another zun-api worker
        cnt = objects.Container(
            context, uuid=str(uuid.uuid4()), name='burst-%d' % i, cpu=2.0,
            memory='512', project_id='demo', user_id='demo',
            status='Creating',
            labels={'libplacement.workload': 'cpu'})
        cnt.create(context)
        created.append(cnt)
        client = query.SchedulerClient()        # zun-api: per request
        try:
            [dest] = client.select_destinations(
                context, [cnt], {'hints': None, 'pci_requests': None,
                                 'availability_zone': None,
                                 'requested_host': None})
            casts.append((dest['host'], cnt))
        except exception.NoValidHost:
            cnt.status = 'Error'
            cnt.save(context)
        while late_by is not None and len(casts) > late_by:
            host, pending = casts.pop(0)
            nodes[host].claim(context, pending)
    for host, pending in casts:
        nodes[host].claim(context, pending)
    per_host = collections.Counter(
        c.host for c in objects.Container.list(context) if c.host)
    refused = [c for c in objects.Container.list(context)
               if c.status == 'Error']
    return sorted(per_host.values()), len(refused)


class NodeDriver(object):
    """What ComputeNodeTracker asks of a container driver during a claim
    (Docker itself is not needed for it)."""

    def update_provider_tree(self, provider_tree, nodename):
        pass

    def capabilities_as_traits(self):
        return {}

    def node_is_available(self, nodename):
        return True


def main_burst(workdir, late_by):
    from keystoneauth1 import loading as ka_loading
    from zun.common import context as zun_context
    import zun.db
    from zun.db.sqlalchemy import api as db_api
    from zun.db.sqlalchemy import models

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import placement_service

    assert zun.db
    CONF([], project='zun')
    CONF.set_override('available_filters', AVAILABLE, group='scheduler')
    # Zun's scheduler driver is found through its entry point
    # (setup.cfg: zun.scheduler.driver), which a source tree lacks.
    info = os.path.join(workdir, 'zun-0.0.0.dist-info')
    os.mkdir(info)
    with open(os.path.join(info, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: zun\nVersion: 0.0.0\n')
    with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
        f.write('[zun.scheduler.driver]\nfilter_scheduler = '
                'zun.scheduler.filter_scheduler:FilterScheduler\n')
    sys.path.append(workdir)
    if True:
        sub = workdir
        service = placement_service.PlacementService(sub)
        try:
            CONF.set_override('connection', 'sqlite:///%s/zun.sqlite' % sub,
                              group='database')
            CONF.register_opts(
                ka_loading.get_auth_plugin_conf_options('admin_token'),
                group='keystone_auth')
            CONF.set_override('auth_type', 'admin_token',
                              group='keystone_auth')
            CONF.set_override('endpoint', service.endpoint,
                              group='keystone_auth')
            CONF.set_override('token', 'admin', group='keystone_auth')
            CONF.set_override('enabled_filters',
                              ['RuntimeFilter', 'LibplacementFilter'],
                              group='scheduler')
            db_api._FACADE = None
            models.Base.metadata.create_all(db_api.get_engine())
            context = zun_context.get_admin_context(all_projects=True)
            nodes = {name: Node(context, name)
                     for name in ('h0', 'h1', 'h2', 'h3')}
            per_host, refused = burst(context, nodes, late_by)
            print('burst of 17, claims %s: containers per host %s, %d '
                  'refused' % ('after the burst' if late_by is None else
                               'one request late', per_host, refused))
            assert per_host == [4, 4, 4, 4] and refused == 1, (per_host,
                                                               refused)
        finally:
            service.stop()


if __name__ == '__main__':
    if sys.argv[1:2] == ['--burst']:
        # One process per scenario: Zun's database is configured once.
        with tempfile.TemporaryDirectory(prefix='zun-real-') as workdir:
            main_burst(workdir, None if sys.argv[2] == 'none'
                       else int(sys.argv[2]))
    else:
        main()
        for late_by in ('none', '1'):
            subprocess.run([sys.executable, os.path.abspath(__file__),
                            '--burst', late_by], check=True)
        print('burst against real Zun and Placement: ok')
