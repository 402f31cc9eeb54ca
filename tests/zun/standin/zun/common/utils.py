"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun/common/utils.py:

- parse_image_name(image, driver, registry): the repository and tag that
  zun-compute pulls and passes to Docker (``repo:tag``, or ``repo`` when
  the tag is empty).  The reference ``[domain/]path[:tag][@digest]`` is
  split and checked (zun/common/docker_image/reference.py
  ``Reference.parse``: lower-case path components, a word-character tag;
  anything else raises); the
  glance driver has no tag; otherwise the tag defaults to ``latest`` (a
  digest is dropped) and a repository without a registry domain gets the
  container's registry's domain, else ``[docker] default_registry``.
- validate_container_state(container, action): the statuses an action is
  allowed in (VALID_STATES), InvalidStateException otherwise.
"""

import re

from zun.common import consts
from zun.common import exception
import zun.conf

CONF = zun.conf.CONF

_PATH = re.compile(r'[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
                   r'(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$')
_TAG = re.compile(r'[\w][\w.-]{0,127}$')

VALID_STATES = {
    'rebuild': [consts.CREATED, consts.RUNNING, consts.STOPPED,
                consts.ERROR],
}


def _split_reference(image):
    """(name, tag or None) of an image reference; the digest is dropped."""
    if not image or image != image.strip():
        raise exception.ZunException('invalid image reference %r' % image)
    name = image.split('@', 1)[0]
    path, slash, last = name.rpartition('/')
    last, colon, tag = last.partition(':')
    name = path + slash + last
    domain = name.partition('/')[0] if _has_domain(name) else ''
    if (not _PATH.match(name[len(domain) + 1 if domain else 0:]) or
            (colon and not _TAG.match(tag))):
        raise exception.ZunException('invalid image reference %r' % image)
    return name, (tag if colon else None)


def _has_domain(name):
    first, slash, _rest = name.partition('/')
    return bool(slash) and ('.' in first or ':' in first or
                            first == 'localhost')


def parse_image_name(image, driver=None, registry=None):
    name, tag = _split_reference(image)
    if driver is None:
        driver = CONF.default_image_driver
    if driver == 'glance':
        return name, ''
    if not _has_domain(name):
        if registry:
            name = '%s/%s' % (registry.domain, name)
        elif CONF.docker.default_registry:
            name = '%s/%s' % (CONF.docker.default_registry, name)
    return name, tag or 'latest'


def validate_container_state(container, action):
    if container.status not in VALID_STATES[action]:
        raise exception.InvalidStateException(
            id=container.uuid, action=action, actual_state=container.status)
