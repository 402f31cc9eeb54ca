"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

FilterScheduler: loads [scheduler] available_filters, instantiates the
enabled_filters once by class name, filters the host states in that order
and takes the first host of the result (the real one takes the first whose
Placement claim succeeds: the list order is the preference), then consumes
the container from it.  Database, Placement and RPC are left out.
"""

from zun.common import exception
import zun.conf
from zun.scheduler import filters

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

    def _get_filtered_hosts(self, hosts, container, extra_specs):
        return self.filter_handler.get_filtered_objects(
            self.enabled_filters, hosts, container, extra_specs)

    def select_host(self, host_states, container, extra_specs):
        """The host the container goes to; NoValidHost if none passes."""
        hosts = self._get_filtered_hosts(host_states, container, extra_specs)
        if not hosts:
            raise exception.NoValidHost(
                reason='Is the appropriate service running?')
        hosts[0].consume_from_request(container)
        return hosts[0]
