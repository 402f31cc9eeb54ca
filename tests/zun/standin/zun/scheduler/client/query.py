"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

SchedulerClient (zun/scheduler/client/query.py), built per API request:
select_destinations asks Placement for allocation candidates for the
container's resources (utils.resources_from_request_spec), fails with
NoValidHost when there are none, groups them by resource provider and hands
them to the scheduler driver (``[scheduler] driver``: filter_scheduler),
which filters, claims in Placement and returns the host.
"""

import collections

from zun.common import exception
import zun.conf
from zun.scheduler.client import report
from zun.scheduler import filter_scheduler
from zun.scheduler import utils

CONF = zun.conf.CONF


class SchedulerClient(object):
    def __init__(self):
        self.placement_client = report.SchedulerReportClient()
        self.driver = filter_scheduler.FilterScheduler()

    def select_destinations(self, context, containers, extra_specs):
        resources = utils.resources_from_request_spec(
            context, containers[0], extra_specs)
        alloc_reqs, provider_summaries, version = (
            self.placement_client.get_allocation_candidates(context,
                                                            resources))
        if not alloc_reqs:
            raise exception.NoValidHost(reason='')
        alloc_reqs_by_rp_uuid = collections.defaultdict(list)
        for ar in alloc_reqs:
            for rp_uuid in ar['allocations']:
                alloc_reqs_by_rp_uuid[rp_uuid].append(ar)
        return self.driver.select_destinations(
            context, containers, extra_specs, alloc_reqs_by_rp_uuid,
            provider_summaries, version)
