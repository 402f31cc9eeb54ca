"""zun_driver against a real Zun source tree instead of the stand-in.

Not part of `make check` (Zun is not packaged in Debian); run by
`make check-zun-real ZUN_SRC=/path/to/zun` (docs/zun.md).  It loads the
filter the way Zun's FilterScheduler does, builds real HostStates from
compute-node records and real Container objects, runs Zun's own filter
handler with Zun's RuntimeFilter and LibplacementFilter, and imports the
driver subclass of Zun's real DockerDriver.
"""

import uuid

import zun.conf
from zun.container.docker import driver as docker_driver
from zun import objects
from zun.scheduler import filters
from zun.scheduler import host_state

from zun_driver import driver as lp_driver
from zun_driver import filters as lp_filters

CONF = zun.conf.CONF


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
    CONF.set_override('available_filters',
                      ['zun.scheduler.filters.all_filters',
                       'zun_driver.filters.LibplacementFilter'],
                      group='scheduler')
    handler = filters.HostFilterHandler()
    by_name = {cls.__name__: cls for cls in handler.get_matching_classes(
        CONF.scheduler.available_filters)}
    enabled = [by_name['RuntimeFilter'](), by_name['LibplacementFilter']()]
    kata = ['runc', 'kata-runtime']
    hosts = [host('runc-only', 0, ['runc']), host('kata-busy', 5, kata),
             host('kata-idle', 1, kata), host('full', 7, kata)]

    def run(cnt):
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
    print('zun_driver runs against real Zun: ok')


if __name__ == '__main__':
    main()
