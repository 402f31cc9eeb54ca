"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

HostState (zun/scheduler/host_state.py): what the scheduler knows of a
compute node (cpus and memory in Zun's units: CPUs and MB; runtimes = the
names Docker's info lists; labels = Docker daemon labels; uuid = the node's
resource provider).  update() copies them from the ComputeNode row
(_update_from_compute_node); consume_from_request() adds a chosen container
to this object only (FilterScheduler builds new HostStates per request, so
nothing carries over to the next one).
"""


class HostState(object):
    def __init__(self, host):
        self.hostname = host
        self.uuid = None
        self.mem_available = 0
        self.mem_total = 0
        self.mem_free = 0
        self.mem_used = 0
        self.cpus = 0
        self.cpu_used = 0
        self.disk_total = 0
        self.disk_used = 0
        self.numa_topology = None
        self.labels = None
        self.pci_stats = None
        self.disk_quota_supported = False
        self.runtimes = []
        self.enable_cpu_pinning = False
        self.limits = {}
        self.updated = None

    def update(self, compute_node=None, service=None):
        if compute_node is not None:
            self.uuid = compute_node.rp_uuid
            for name in ('mem_available', 'mem_total', 'mem_free',
                         'mem_used', 'cpus', 'cpu_used', 'disk_total',
                         'disk_used', 'numa_topology', 'labels',
                         'disk_quota_supported', 'runtimes',
                         'enable_cpu_pinning'):
                setattr(self, name, getattr(compute_node, name))
            self.updated = compute_node.updated_at
        if service is not None:
            self.service = service

    def consume_from_request(self, container):
        self.mem_used += int(container.memory) if container.memory else 0
        self.disk_used += container.disk if container.disk else 0
        self.cpu_used += container.cpu if container.cpu else 0
        self.mem_free = self.mem_total - self.mem_used

    def __repr__(self):
        return '%s ram: %sMB cpus: %s' % (self.hostname, self.mem_free,
                                          self.cpus - self.cpu_used)
