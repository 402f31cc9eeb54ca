"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

ComputeNodeTracker (zun/compute/compute_node_tracker.py), what matters for
scheduling:

- update_available_resources: the node's row created from what the driver
  reports (cpus, memory, runtimes), cpu_used from the containers the
  database places on this host (_update_usage_from_containers), and the
  node's resource provider with VCPU and MEMORY_MB inventory in Placement
  (_update_to_placement; allocation ratios from
  ``[compute] initial_*_allocation_ratio``);
- container_claim: the container's host set and saved
  (_set_container_host), its cpu and memory added to the node's usage
  (_update_usage_from_container) and the node saved (_update ->
  SchedulerClient.update_resource -> node.save()).  This is the first time
  Zun's database shows the container on the node.
"""

from zun.common import exception
import zun.conf
from zun import objects

CONF = zun.conf.CONF


class ComputeNodeTracker(object):
    def __init__(self, host, container_driver, reportclient):
        self.host = host
        self.container_driver = container_driver
        self.reportclient = reportclient
        self.compute_node = None

    def update_available_resources(self, context):
        resources = self.container_driver.get_available_resources()
        node = objects.ComputeNode(context)
        node.hostname = self.host
        for key, value in resources.items():
            setattr(node, key, value)
        node.cpu_used = 0.0
        node.mem_used = 0
        for cnt in objects.Container.list_by_host(context, self.host):
            node.cpu_used += cnt.cpu or 0
            node.mem_used += int(cnt.memory) if cnt.memory else 0
        node.mem_free = node.mem_total - node.mem_used
        node.create(context)
        node.rp_uuid = node.uuid
        node.save(context)
        self.reportclient._ensure_resource_provider(context, node.uuid,
                                                    name=self.host)
        self.reportclient.set_inventory_for_provider(context, node.uuid, {
            'VCPU': {'total': node.cpus, 'max_unit': node.cpus,
                     'allocation_ratio':
                         CONF.compute.initial_cpu_allocation_ratio},
            'MEMORY_MB': {'total': node.mem_total,
                          'max_unit': node.mem_total,
                          'allocation_ratio':
                              CONF.compute.initial_ram_allocation_ratio},
        })
        self.compute_node = node
        return node

    def container_claim(self, context, container, pci_requests, limits=None):
        self.compute_node = objects.ComputeNode.get_by_name(context,
                                                            self.host)
        container.host = self.host
        container.save(context)
        node = self.compute_node
        memory = int(container.memory) if container.memory else 0
        if node.mem_used + memory > node.mem_total:
            raise exception.ZunException('Insufficient memory on %s'
                                         % self.host)
        node.cpu_used += container.cpu or 0
        node.mem_used += memory
        node.mem_free = node.mem_total - node.mem_used
        node.save(context)
