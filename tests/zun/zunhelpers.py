"""Builders for Zun objects in the tests (stand-in HostState and Container)."""

import uuid

from zun import objects
from zun.scheduler import host_state

RUNC = ['runc']
RUNC_KATA = ['runc', 'kata-runtime']


def host(name, cpus=8, cpu_used=0.0, runtimes=RUNC_KATA, mem_total=32768,
         mem_used=0):
    """A HostState as Zun's scheduler builds it from a compute node."""
    state = host_state.HostState(name)
    state.cpus = cpus
    state.cpu_used = cpu_used
    state.mem_total = mem_total
    state.mem_used = mem_used
    state.mem_free = mem_total - mem_used
    state.runtimes = list(runtimes)
    state.labels = {}
    return state


def container(workload=None, cpu=2.0, memory='512', runtime=None,
              created=True, labels=None):
    """A Container as zun-api hands it to the scheduler.

    created=True: saved to the database first, so unset fields are None (as
    in Zun); created=False: fields not given are unset.
    """
    labels = dict(labels or {})
    if workload is not None:
        labels['libplacement.workload'] = workload
    fields = {'uuid': str(uuid.uuid4()), 'name': 'c', 'image': 'busybox',
              'cpu': cpu, 'memory': memory, 'labels': labels}
    if runtime is not None:
        fields['runtime'] = runtime
    cnt = objects.Container(None, **fields)
    if created:
        cnt.create(None)
    return cnt


def names(hosts):
    return [h.hostname for h in hosts]


class Cloud(object):
    """Zun in one process (stand-in): zun-compute per host, zun-api
    requests, a real Placement (the ``placement`` fixture).

    ``create`` is POST /v1/containers: the row is created, the scheduler
    (built for this request) filters and claims in Placement, and the cast
    to zun-compute waits in ``rpcapi.CASTS`` until ``deliver`` hands it to
    the host's compute, whose claim sets the container's host and the
    node's cpu_used.
    """

    def __init__(self, hosts, cpus=8, runtimes=RUNC_KATA,
                 mem_total=32768, driver_class=None):
        """:param driver_class: zun-compute's container driver (default:
        Zun's DockerDriver)."""
        from zun.common import context as zun_context
        from zun.compute import manager
        from zun.container.docker import driver as docker_driver

        self.context = zun_context.RequestContext(project_id='demo',
                                                  user_id='demo')
        self.computes = {}
        for name in hosts:
            drv = (driver_class or docker_driver.DockerDriver)()
            drv.host_info = {'runtimes': list(runtimes), 'labels': {},
                             'cpus': cpus, 'mem_total': mem_total}
            compute = manager.Manager(name, drv)
            compute.rt.update_available_resources(self.context)
            objects.ZunService(self.context, host=name,
                               binary='zun-compute', disabled=False).create()
            self.computes[name] = compute

    def create(self, workload='cpu', cpu=2.0, memory='512', hints=None,
               labels=None, image='busybox', **fields):
        from zun.api.controllers.v1 import containers

        labels = dict(labels or {})
        if workload is not None:
            labels['libplacement.workload'] = workload
        return containers.post(self.context, name='c', image=image,
                               cpu=cpu, memory=memory, labels=labels,
                               hints=hints, **fields)

    def rebuild(self, cnt):
        """POST /v1/containers/{uuid}/rebuild; the cast waits for
        ``deliver``."""
        from zun.api.controllers.v1 import containers

        return containers.rebuild(self.context, cnt.uuid)

    def deliver(self, count=None):
        """Let the oldest ``count`` casts (all by default) reach their
        zun-compute, whose claims then land."""
        from zun.compute import rpcapi

        rpcapi.deliver(self.computes, count)

    def in_flight(self):
        from zun.compute import rpcapi

        return len(rpcapi.CASTS)

    def scheduled(self, containers):
        """{host: containers sent there} by the casts and claims so far:
        a refused container is in status Error and has no host."""
        from zun.compute import rpcapi

        out = {}
        for host, _method, kwargs in rpcapi.CASTS:
            uuid = kwargs['container'].uuid
            out.setdefault(host, set()).add(uuid)
        for cnt in objects.Container.list(self.context):
            if cnt.host:
                out.setdefault(cnt.host, set()).add(cnt.uuid)
        wanted = {c.uuid for c in containers}
        return {h: len(u & wanted) for h, u in out.items() if u & wanted}
