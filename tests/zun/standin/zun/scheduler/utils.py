"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun/scheduler/utils.py: resources_from_request_spec (VCPU = ceil of the
container's cpu, at least 1; MEMORY_MB = its memory, at least 1; DISK_GB
when set) and claim_resources (the report client's Placement claim for the
container as consumer, with its project and user).
"""

import math

import zun.conf

CONF = zun.conf.CONF


def resources_from_request_spec(ctxt, container_obj, extra_specs):
    cpu = container_obj.cpu if container_obj.cpu else CONF.default_cpu
    cpu = int(math.ceil(cpu))
    cpu = cpu if cpu > 1 else 1
    memory = (int(container_obj.memory) if container_obj.memory
              else CONF.default_memory)
    memory = memory if memory > 1 else 1
    resources = {'VCPU': cpu, 'MEMORY_MB': memory}
    if container_obj.disk:
        resources['DISK_GB'] = container_obj.disk
    return resources


def claim_resources(ctx, client, container, alloc_req,
                    allocation_request_version=None):
    return client.claim_resources(
        ctx, container.uuid, alloc_req, container.project_id,
        container.user_id,
        allocation_request_version=allocation_request_version,
        consumer_generation=None)
