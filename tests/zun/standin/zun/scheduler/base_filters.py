"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

The filter contract: filter_all(objs, container, extra_spec) returns an
iterable of the objects that pass (None stops filtering); the handler
applies the enabled filters in order, each to what the previous returned.
"""

from zun.scheduler import loadables


class BaseFilter(object):
    """Base class for all filter classes."""

    run_filter_once_per_request = False

    def _filter_one(self, obj, container, extra_spec):
        return True

    def filter_all(self, filter_obj_list, container, extra_spec):
        for obj in filter_obj_list:
            if self._filter_one(obj, container, extra_spec):
                yield obj

    def run_filter_for_index(self, index):
        return not (self.run_filter_once_per_request and index > 0)


class BaseFilterHandler(loadables.BaseLoader):
    def get_filtered_objects(self, filters, objs, container, extra_spec,
                             index=0):
        list_objs = list(objs)
        for filter_ in filters:
            if filter_.run_filter_for_index(index):
                objs = filter_.filter_all(list_objs, container, extra_spec)
                if objs is None:
                    return None
                list_objs = list(objs)
                if not list_objs:
                    break
        return list_objs
