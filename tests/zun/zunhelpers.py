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
              created=True):
    """A Container as zun-api hands it to the scheduler.

    created=True: saved to the database first, so unset fields are None (as
    in Zun); created=False: fields not given are unset.
    """
    labels = {} if workload is None else {'libplacement.workload': workload}
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
