"""Images that name their siblings for other runtimes.

An image says in which other runtimes the same software is available with
the Glance property ``libplacement_variants``: comma-separated
``runtime:image-uuid`` entries, e.g.::

    openstack image set tomcat-vm \\
        --property libplacement_variants=container:<uuid>,unikernel:<uuid>

A runtime switch rebuilds a server into the sibling image for the runtime
its workload class prefers (``libplacement_runtime_switch``); the server
keeps its UUID, flavor, host, addresses and volumes.
"""

import libplacement as lp
from oslo_utils import uuidutils

PROPERTY = 'libplacement_variants'


def parse(value):
    """{runtime: image uuid} from a ``libplacement_variants`` value.

    :raises ValueError: naming the entry that is not ``runtime:uuid`` with
                        a runtime of container, unikernel, vm given once.
    """
    variants = {}
    for entry in str(value).split(','):
        entry = entry.strip()
        if not entry:
            continue
        runtime, sep, image = (p.strip() for p in entry.partition(':'))
        if not sep or runtime not in lp.RUNTIMES:
            raise ValueError('%r is not runtime:image-uuid with a runtime of '
                             '%s' % (entry, ', '.join(lp.RUNTIMES)))
        if not uuidutils.is_uuid_like(image):
            raise ValueError('%r: %r is not an image UUID' % (entry, image))
        if runtime in variants:
            raise ValueError('runtime %s is given twice' % runtime)
        variants[runtime] = image
    return variants


class SiblingFinder(object):
    """Finds a server's sibling image for a runtime through Nova and Glance.

    One finder serves one audit: the servers' images are listed once
    (``servers``: {uuid: image id or None}), images are read once each.
    """

    def __init__(self, glance, servers):
        self._glance = glance
        self._servers = servers
        self._images = {}

    def _image(self, image_id):
        if image_id not in self._images:
            self._images[image_id] = self._glance.images.get(image_id)
        return self._images[image_id]

    def find(self, server_uuid, runtime):
        """(image, sibling, why): the server's image, its sibling for runtime.

        sibling is None when there is none; why then says why (the server
        boots from a volume, the image names no such sibling, the sibling
        is not an active image, Glance cannot be read).
        """
        image_id = self._servers.get(server_uuid)
        if not image_id:
            return None, None, ('boots from a volume or its image is '
                                'unknown; only image-backed servers can be '
                                'rebuilt into another runtime')
        try:
            image = self._image(image_id)
        except Exception as e:
            return image_id, None, 'cannot read image %s: %s' % (image_id, e)
        value = image.get(PROPERTY)
        if not value:
            return image_id, None, ('image %s has no property %s naming a '
                                    'sibling for %s' % (image_id, PROPERTY,
                                                        runtime))
        try:
            sibling = parse(value).get(runtime)
        except ValueError as e:
            return image_id, None, ('image %s property %s is invalid: %s'
                                    % (image_id, PROPERTY, e))
        if sibling is None:
            return image_id, None, ('image %s names no %s sibling in %s=%s'
                                    % (image_id, runtime, PROPERTY, value))
        try:
            status = self._image(sibling).get('status')
        except Exception as e:
            return image_id, None, ('its %s sibling image %s cannot be read: '
                                    '%s' % (runtime, sibling, e))
        if status != 'active':
            return image_id, None, ('its %s sibling image %s is %s, not '
                                    'active' % (runtime, sibling, status))
        return image_id, sibling, None
