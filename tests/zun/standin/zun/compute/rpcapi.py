"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun/compute/rpcapi.py API.container_create: an oslo.messaging *cast* to
the chosen host's zun-compute (fire and forget).  The stand-in's transport
is the list CASTS; a test decides when each cast is delivered to the
host's compute manager (``deliver``), i.e. when its claim lands.
container_rebuild is cast the same way, to the container's host.
"""

#: Casts not delivered yet: (host, method, kwargs), oldest first.
CASTS = []


class API(object):
    def __init__(self, context=None):
        self.context = context

    def container_create(self, context, host, container, limits,
                         requested_networks, requested_volumes, run,
                         pci_requests):
        CASTS.append((host, 'container_create', dict(
            context=context, limits=limits,
            requested_networks=requested_networks,
            requested_volumes=requested_volumes, container=container,
            run=run, pci_requests=pci_requests)))

    def container_rebuild(self, context, container, run):
        CASTS.append((container.host, 'container_rebuild', dict(
            context=context, container=container, run=run)))


def deliver(managers, count=None):
    """Deliver the oldest ``count`` casts (all by default) to the compute
    managers, {host: Manager}."""
    count = len(CASTS) if count is None else min(count, len(CASTS))
    for _ in range(count):
        host, method, kwargs = CASTS.pop(0)
        getattr(managers[host], method)(**kwargs)
