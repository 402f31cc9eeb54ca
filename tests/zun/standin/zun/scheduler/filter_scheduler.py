"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

FilterScheduler (zun/scheduler/filter_scheduler.py).  Zun builds one per
API request (hooks.RPCHook makes a compute API per request, whose
SchedulerClient loads the driver), so its filters are new objects on every
request, too.  Mirrored:

- ``__init__``: filter classes from ``[scheduler] available_filters``,
  instantiated by class name from ``enabled_filters``; a report client;
- ``_schedule``: compute nodes read from the database *on every request*
  (only those Placement offered, only hosts with a zun-compute service),
  fresh HostStates, the filters, then a Placement claim against the first
  host in filter order that has an allocation request
  (utils.claim_resources), and consume_from_request on that HostState
  only;
- ``_get_filtered_hosts`` (``requested_host`` narrows the hosts first),
  ``select_destinations``, ``get_all_host_state``,
  ``_get_services_by_host``.
"""

from zun.common import exception
import zun.conf
from zun import objects
from zun.scheduler.client import report
from zun.scheduler import filters
from zun.scheduler.host_state import HostState
from zun.scheduler import utils

CONF = zun.conf.CONF


class FilterScheduler(object):
    def __init__(self):
        self.filter_handler = filters.HostFilterHandler()
        classes = self.filter_handler.get_matching_classes(
            CONF.scheduler.available_filters)
        by_name = {cls.__name__: cls for cls in classes}
        missing = [n for n in CONF.scheduler.enabled_filters
                   if n not in by_name]
        if missing:
            raise exception.SchedulerHostFilterNotFound(
                filter_name=', '.join(missing))
        self.enabled_filters = [by_name[n]()
                                for n in CONF.scheduler.enabled_filters]
        self.placement_client = report.SchedulerReportClient()

    def _schedule(self, context, container, extra_specs,
                  alloc_reqs_by_rp_uuid, provider_summaries,
                  allocation_request_version=None):
        elevated = context.elevated()
        compute_uuids = None
        if provider_summaries is not None:
            compute_uuids = list(provider_summaries.keys())
        if compute_uuids is None:
            nodes = objects.ComputeNode.list(context)
        else:
            nodes = objects.ComputeNode.list(
                context, filters={'rp_uuid': compute_uuids})
        services = self._get_services_by_host(context)
        nodes = [node for node in nodes if node.hostname in services]
        host_states = self.get_all_host_state(nodes, services)
        hosts = self._get_filtered_hosts(host_states, container, extra_specs)
        if not hosts:
            raise exception.NoValidHost(
                reason='Is the appropriate service running?')
        claimed_host = None
        for host in hosts:
            if host.uuid not in alloc_reqs_by_rp_uuid:
                continue
            alloc_req = alloc_reqs_by_rp_uuid[host.uuid][0]
            if utils.claim_resources(
                    elevated, self.placement_client, container, alloc_req,
                    allocation_request_version=allocation_request_version):
                claimed_host = host
                break
        if claimed_host is None:
            raise exception.NoValidHost(
                reason='Unable to successfully claim against any host.')
        claimed_host.consume_from_request(container)
        return claimed_host

    def _get_filtered_hosts(self, hosts, container, extra_specs):
        requested_host = extra_specs.get('requested_host', [])
        if requested_host:
            hosts = iter([h for h in hosts if h.hostname == requested_host])
        return self.filter_handler.get_filtered_objects(
            self.enabled_filters, hosts, container, extra_specs)

    def select_destinations(self, context, containers, extra_specs,
                            alloc_reqs_by_rp_uuid, provider_summaries,
                            allocation_request_version=None):
        dests = []
        for container in containers:
            host = self._schedule(context, container, extra_specs,
                                  alloc_reqs_by_rp_uuid, provider_summaries,
                                  allocation_request_version)
            dests.append(dict(host=host.hostname, nodename=None,
                              limits=host.limits))
        return dests

    def _get_services_by_host(self, context):
        return {service.host: service
                for service in objects.ZunService.list_by_binary(
                    context, 'zun-compute')}

    def get_all_host_state(self, nodes, services):
        host_states = []
        for node in nodes:
            host_state = HostState(node.hostname)
            host_state.update(compute_node=node,
                              service=services.get(node.hostname))
            host_states.append(host_state)
        return host_states
