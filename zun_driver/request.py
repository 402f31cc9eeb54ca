"""What a Zun container asks of libplacement."""

import libplacement as lp
from oslo_log import log as logging
from zun.common import utils as zun_utils

LOG = logging.getLogger(__name__)

#: Container label that declares the workload class (cpu, net, io, ...).
WORKLOAD_LABEL = 'libplacement.workload'
#: Scheduler hint naming the placement group of the container.
GROUP_HINT = 'libplacement_group'
#: Container label holding the placement group.  Zun keeps a container's
#: labels in its database but not its scheduler hints, so the filter copies
#: the hint here: that is how later requests see the group's members.
GROUP_LABEL = 'libplacement.group'
#: Container label naming the flavor of a container (Zun has no flavors);
#: the agent reports it as the workload's flavor, so classes are also
#: learned per flavor.
FLAVOR_LABEL = 'libplacement.flavor'
#: Container label holding the Docker runtime libplacement chose for the
#: container (the filter or the driver writes it with container.runtime):
#: a runtime so marked is libplacement's, which a rebuild may change; any
#: other runtime is the user's and never changed.
RUNTIME_LABEL = 'libplacement.runtime'


def container_field(container, name):
    """A container field, or None when it is not set.

    Zun's Container raises ObjectActionError (not AttributeError) for an
    unset field, so ask the object first instead of using getattr's default.
    """
    is_set = getattr(container, 'obj_attr_is_set', None)
    if is_set is not None and not is_set(name):
        return None
    return getattr(container, name, None)


def container_image(container):
    """The image of a container as Docker and the agent name it, or None.

    zun-compute parses ``container.image`` with Zun's own
    ``parse_image_name`` (its image driver; the registry domain of its
    registry, else of ``[docker] default_registry``) and hands Docker
    ``repo:tag`` (``repo`` alone when the tag is empty, as with the glance
    driver), e.g. ``nginx`` becomes ``nginx:latest``.  Docker lists the
    container under that reference, and so does the agent.
    """
    image = container_field(container, 'image')
    if not image:
        return None
    registry = None
    try:
        if container_field(container, 'registry_id'):
            registry = container.registry     # loaded from Zun's database
        repo, tag = zun_utils.parse_image_name(
            image, container_field(container, 'image_driver'),
            registry=registry)
    except Exception as e:
        LOG.debug('libplacement: image %r of container %s not understood '
                  '(%s); nothing is learned for it', image,
                  container_field(container, 'uuid'), e)
        return None
    return '%s:%s' % (repo, tag) if tag else repo


class ContainerRequest(object):
    """A libplacement request for one Zun container.

    ``workload`` comes from the container label ``libplacement.workload``
    (else default_workload; ``auto`` leaves a new container, which has no
    measurements, unclassified), ``vcpus``
    from the container's cpu, ``memory_mb`` from its memory, ``group`` from
    the scheduler hint ``libplacement_group`` or the label
    ``libplacement.group``, ``image`` from the container's image as Docker
    names it (``container_image``) and ``flavor`` from the label
    ``libplacement.flavor``: what classes are learned by.  ``runtime`` is
    the container's Docker runtime (None: Zun's default), ``user_runtime``
    the same when the user chose it (not marked by the label
    ``libplacement.runtime``), else None.
    """

    def __init__(self, container, extra_spec=None, default_workload='auto'):
        """:raises ValueError: naming the label, hint or field that is bad."""
        labels = container_field(container, 'labels') or {}
        self.runtime = container_field(container, 'runtime') or None
        self.user_runtime = (self.runtime
                             if labels.get(RUNTIME_LABEL) != self.runtime
                             else None)
        workload = labels.get(WORKLOAD_LABEL, default_workload)
        if workload != 'auto' and workload not in lp.CLASSES:
            raise ValueError(
                'container label %s=%r is not one of auto, %s'
                % (WORKLOAD_LABEL, workload, ', '.join(lp.CLASSES)))
        hints = (extra_spec or {}).get('hints') or {}
        group = hints.get(GROUP_HINT) or None
        if group is not None and not isinstance(group, str):
            raise ValueError('scheduler hint %s must be a string, not %r'
                             % (GROUP_HINT, group))
        labelled = labels.get(GROUP_LABEL) or None
        if group is not None and labelled is not None and group != labelled:
            raise ValueError('scheduler hint %s=%r and container label %s=%r '
                             'name different groups'
                             % (GROUP_HINT, group, GROUP_LABEL, labelled))
        group = group or labelled
        cpu = container_field(container, 'cpu')
        memory = container_field(container, 'memory')
        try:
            memory_mb = float(memory) if memory else 0.0
        except ValueError:
            raise ValueError('container memory %r is not a number of MB'
                             % (memory,))
        self.group = group
        self.request = {
            'id': str(container_field(container, 'uuid') or
                      container_field(container, 'name') or 'container'),
            'vcpus': float(cpu) if cpu else 1.0,
            'memory_mb': memory_mb,
            'workload': workload,
            'runtime': 'auto',
            'group': group,
            'image': container_image(container),
            'flavor': labels.get(FLAVOR_LABEL) or None,
        }


def container_group(container):
    """The placement group a stored container belongs to (its label)."""
    labels = container_field(container, 'labels') or {}
    return labels.get(GROUP_LABEL) or None


def record_group(container, group):
    """Label the container with its group and save the label at once.

    Saved now, not with the container's other changes when zun-compute
    claims it, so that requests scheduled meanwhile (in any zun-api
    process) count it as a member of its group.  A container that is not
    in the database yet (no ``id``) only gets the label.
    """
    labels = container_field(container, 'labels') or {}
    if labels.get(GROUP_LABEL) == group:
        return
    # A new dict: the field notices assignment, not changes in place.
    container.labels = dict(labels, **{GROUP_LABEL: group})
    if container_field(container, 'id') is not None:
        container.save()


def record_runtime(container, runtime):
    """Set the container's Docker runtime and mark it as libplacement's.

    Not saved here: the change travels with the Container object to
    zun-compute, which saves it with the container (its claim, or the
    create and rebuild that follow).
    """
    labels = container_field(container, 'labels') or {}
    container.runtime = runtime
    if labels.get(RUNTIME_LABEL) != runtime:
        container.labels = dict(labels, **{RUNTIME_LABEL: runtime})
