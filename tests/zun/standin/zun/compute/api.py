"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

The compute API of zun-api (zun/compute/api.py API), built per request:
container_create schedules the container (SchedulerClient: filters and
the Placement claim, _schedule_container), marks it ERROR and saves it on
NoValidHost, otherwise casts container_create to the chosen host's
zun-compute and returns without waiting.  Nothing here sets the
container's host or the node's usage: zun-compute's claim does.
container_rebuild casts the rebuild to the container's host.
"""

from zun.common import exception
from zun.compute import rpcapi
from zun.scheduler.client import query as scheduler_client


class API(object):
    def __init__(self, context):
        self.rpcapi = rpcapi.API(context=context)
        self.scheduler_client = scheduler_client.SchedulerClient()

    def container_create(self, context, new_container, extra_spec,
                         requested_networks, requested_volumes, run,
                         pci_requests=None):
        try:
            host_state = self._schedule_container(context, new_container,
                                                  extra_spec)
        except exception.NoValidHost:
            new_container.status = 'Error'
            new_container.status_reason = (
                'There are not enough hosts available.')
            new_container.save(context)
            return
        self.rpcapi.container_create(context, host_state['host'],
                                     new_container, host_state['limits'],
                                     requested_networks, requested_volumes,
                                     run, pci_requests)

    def _schedule_container(self, context, new_container, extra_spec):
        dests = self.scheduler_client.select_destinations(
            context, [new_container], extra_spec)
        return dests[0]

    def container_rebuild(self, context, container, run):
        self.rpcapi.container_rebuild(context, container, run)
