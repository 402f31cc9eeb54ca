"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

Zun's RuntimeFilter (enabled by default): a container with a runtime only
goes to hosts whose Docker lists that runtime.
"""

from zun.scheduler import filters


class RuntimeFilter(filters.BaseHostFilter):
    run_filter_once_per_request = True

    def host_passes(self, host_state, container, extra_spec):
        if not hasattr(container, 'runtime') or not container.runtime:
            return True
        return container.runtime in host_state.runtimes
