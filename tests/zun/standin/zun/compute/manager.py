"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun-compute's Manager (zun/compute/manager.py):

- container_create -> _do_container_create: the resource tracker's
  container_claim (host and usage saved), then _do_container_create_base;
- container_rebuild -> _do_container_rebuild: with task state
  container_rebuilding, the Docker container is deleted if it exists
  (the Container object, its uuid, name, labels, host, runtime and
  resources stay), _do_container_create_base creates it again, the status
  becomes Created and is saved; a container that was running is started;
- _do_container_create_base: the image reference parsed into repository
  and tag (utils.parse_image_name with the container's image driver and
  registry), then the driver's create with that image; the container is
  saved after (the real driver's create saves it).

The real one runs these in green threads after the cast arrives; here the
test delivers casts (rpcapi.deliver).
"""

from zun.common import consts
from zun.common import utils
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
        created = self._do_container_create_base(
            context, container, requested_networks, requested_volumes)
        created.save(context)

    def container_rebuild(self, context, container, run):
        container.task_state = consts.CONTAINER_REBUILDING
        container.save(context)
        if self.driver.check_container_exist(container):
            self.driver.delete(context, container, True)
        created = self._do_container_create_base(context, container, [{}],
                                                 {})
        created.status = consts.CREATED
        created.status_reason = None
        created.save(context)
        if run:
            self.driver.start(context, created)
        created.task_state = None
        created.save(context)

    def _do_container_create_base(self, context, container,
                                  requested_networks, requested_volumes):
        repo, tag = utils.parse_image_name(container.image,
                                           container.image_driver,
                                           registry=container.registry)
        return self.driver.create(context, container,
                                  {'repo': repo, 'tag': tag},
                                  requested_networks, requested_volumes)
