"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md)."""

from zun.scheduler import base_filters


class BaseHostFilter(base_filters.BaseFilter):
    """Base class for host filters: override host_passes()."""

    def _filter_one(self, obj, filter_properties, extra_spec):
        return self.host_passes(obj, filter_properties, extra_spec)

    def host_passes(self, host_state, filter_properties, extra_spec):
        raise NotImplementedError()


class HostFilterHandler(base_filters.BaseFilterHandler):
    def __init__(self):
        super(HostFilterHandler, self).__init__(BaseHostFilter)


def all_filters():
    """Zun's built-in filters (here only those the tests combine with)."""
    from zun.scheduler.filters import runtime_filter
    return [runtime_filter.RuntimeFilter]
