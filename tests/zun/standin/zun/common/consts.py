"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun/common/consts.py: container statuses and task states, Zun's values."""

CONTAINER_STATUSES = (
    ERROR, RUNNING, STOPPED, CREATING, CREATED, REBUILDING,
) = (
    'Error', 'Running', 'Stopped', 'Creating', 'Created', 'Rebuilding',
)

TASK_STATES = (
    CONTAINER_CREATING, CONTAINER_REBUILDING,
) = (
    'container_creating', 'container_rebuilding',
)
