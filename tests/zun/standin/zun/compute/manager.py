"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun-compute's Manager (zun/compute/manager.py): container_create ->
_do_container_create: the resource tracker's container_claim (host and
usage saved), then the container driver's create.  The real one runs this
in a green thread after the cast arrives; here the test delivers casts
(rpcapi.deliver).
"""

from zun.compute import compute_node_tracker
from zun.scheduler.client import report


class Manager(object):
    def __init__(self, host, container_driver):
        self.host = host
        self.driver = container_driver
        self.reportclient = report.SchedulerReportClient()
        self.rt = compute_node_tracker.ComputeNodeTracker(
            host, container_driver, self.reportclient)

    def container_create(self, context, limits, requested_networks,
                         requested_volumes, container, run,
                         pci_requests=None):
        self.rt.container_claim(context, container, pci_requests, limits)
        self.driver.create(context, container, {'repo': container.image},
                           requested_networks, requested_volumes)
