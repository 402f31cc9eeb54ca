"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md)."""


class BaseDriver(object):
    """Base of host-level driver operations."""


class ContainerDriver(object):
    """Base of container drivers: zun-compute checks isinstance of this."""

    def create(self, context, container, **kwargs):
        raise NotImplementedError()
