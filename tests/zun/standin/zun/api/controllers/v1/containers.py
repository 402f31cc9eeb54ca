"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

POST /v1/containers (zun/api/controllers/v1/containers.py
ContainersController._do_post), the part that matters for scheduling: the
scheduler's extra_spec is built from the request body (``hints`` are not a
Container field and are not stored), the Container row is created with
status Creating and no host, and the compute API schedules and casts.
"""

from zun.common import consts
from zun.common import utils
from zun.compute import api as compute_api
from zun import objects


def post(context, **container_dict):
    """Create a container as zun-api does; returns the Container."""
    container_dict['project_id'] = context.project_id
    container_dict['user_id'] = context.user_id
    container_dict['status'] = consts.CREATING
    requested_host = container_dict.pop('host', None)
    extra_spec = {
        'hints': container_dict.get('hints', None),
        'pci_requests': None,
        'availability_zone': container_dict.pop('availability_zone', None),
        'requested_host': requested_host,
    }
    new_container = objects.Container(context, **container_dict)
    new_container.create(context)
    compute_api.API(context).container_create(
        context, new_container, extra_spec=extra_spec,
        requested_networks=[], requested_volumes={}, run=False)
    return new_container


def rebuild(context, container_ident, image=None, image_driver=None):
    """Rebuild a container as zun-api does; returns the Container."""
    container = objects.Container.get_by_uuid(context, container_ident)
    utils.validate_container_state(container, 'rebuild')
    if image:
        container.image = image
    if image_driver:
        container.image_driver = image_driver
    run = container.status == consts.RUNNING
    container.status = consts.REBUILDING
    container.save(context)
    compute_api.API(context).container_rebuild(context, container, run)
    return container
