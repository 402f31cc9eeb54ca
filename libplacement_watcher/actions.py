"""The Watcher action ``libplacement_runtime_switch``: rebuild a server into
its image's sibling for another runtime (libplacement_watcher.variants).

Input parameters (the strategy libplacement_rebalance fills them):

================== ==========================================================
``resource_id``    the server's UUID
``resource_name``  its name (optional, for operators)
``from_runtime``   the runtime it runs in (optional, for operators)
``to_runtime``     the runtime its workload class prefers
``image``          the sibling image to rebuild into
``original_image`` the image it runs now; revert rebuilds into it
================== ==========================================================

Pre-condition: the server exists, is ACTIVE and still runs
``original_image`` (the plan is not stale), and ``image`` is an active
image. Post-condition: the server is ACTIVE on ``image``. The rebuild keeps
the server's UUID, flavor, host, addresses and volumes; its root disk is
replaced. Options: ``[watcher_actions.libplacement_runtime_switch]``
``rebuild_timeout``.
"""

import time

from novaclient import exceptions as nova_exceptions
from oslo_config import cfg
from oslo_log import log as logging

import libplacement as lp
from watcher.applier.actions import base
from watcher.common import exception

LOG = logging.getLogger(__name__)

UUID_PATTERN = ('^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-'
                '[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$')
POLL_INTERVAL_S = 1.0


class NotApplicable(exception.WatcherException):
    msg_fmt = 'Runtime switch of server %(server)s: %(why)s'


class RuntimeSwitch(base.BaseAction):
    """Rebuild a server into the sibling image for another runtime."""

    NAME = 'libplacement_runtime_switch'

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.IntOpt(
                'rebuild_timeout', default=600, min=1,
                help='Seconds a rebuild may take before the action fails '
                     '(the server is left as Nova has it; revert rebuilds '
                     'it into its original image).'),
        ]

    @property
    def schema(self):
        runtime = {'type': 'string', 'enum': list(lp.RUNTIMES)}
        uuid = {'type': 'string', 'pattern': UUID_PATTERN}
        return {
            'type': 'object',
            'properties': {
                'resource_id': uuid,
                'resource_name': {'type': 'string', 'minLength': 1},
                'from_runtime': runtime,
                'to_runtime': runtime,
                'image': uuid,
                'original_image': uuid,
            },
            'required': ['resource_id', 'to_runtime', 'image',
                         'original_image'],
            'additionalProperties': False,
        }

    @property
    def image(self):
        return self.input_parameters['image']

    @property
    def original_image(self):
        return self.input_parameters['original_image']

    def _nova(self):
        return self.osc.nova()

    def _server(self):
        try:
            return self._nova().servers.get(self.resource_id)
        except nova_exceptions.NotFound:
            raise exception.InstanceNotFound(name=self.resource_id)

    @staticmethod
    def _image_of(server):
        image = server.image
        return image.get('id') if isinstance(image, dict) else None

    def _not_applicable(self, why):
        return NotApplicable(server=self.resource_id, why=why)

    def _check_can_switch(self, server):
        if server.status != 'ACTIVE':
            raise self._not_applicable('it is %s, not ACTIVE' % server.status)
        current = self._image_of(server)
        if current != self.original_image:
            raise self._not_applicable(
                'it runs image %s, not %s as when the plan was made; audit '
                'again' % (current, self.original_image))
        try:
            status = self.osc.glance().images.get(self.image).get('status')
        except Exception as e:
            raise self._not_applicable('image %s cannot be read: %s'
                                       % (self.image, e))
        if status != 'active':
            raise self._not_applicable('image %s is %s, not active'
                                       % (self.image, status))

    def pre_condition(self):
        self._check_can_switch(self._server())

    def _rebuild(self, target):
        """Rebuild into target and wait until Nova is done; True if ACTIVE
        on target.
        """
        nova = self._nova()
        nova.servers.rebuild(self.resource_id, target)
        deadline = time.monotonic() + self.config.rebuild_timeout
        while True:
            server = nova.servers.get(self.resource_id)
            task = getattr(server, 'OS-EXT-STS:task_state', None)
            if server.status == 'ERROR':
                LOG.error('libplacement: rebuild of server %s into image %s '
                          'failed: the server is in ERROR',
                          self.resource_id, target)
                return False
            if (server.status == 'ACTIVE' and not task
                    and self._image_of(server) == target):
                return True
            if time.monotonic() > deadline:
                LOG.error('libplacement: rebuild of server %s into image %s '
                          'not done after %d s (status %s, task %s); see '
                          '[watcher_actions.%s] rebuild_timeout',
                          self.resource_id, target,
                          self.config.rebuild_timeout, server.status, task,
                          self.NAME)
                return False
            time.sleep(POLL_INTERVAL_S)

    def execute(self):
        # Watcher 9 runs execute even when pre_condition failed: check again.
        server = self._server()
        if self._image_of(server) == self.image and server.status == 'ACTIVE':
            LOG.info('libplacement: server %s already runs image %s',
                     self.resource_id, self.image)
            return True
        try:
            self._check_can_switch(server)
        except NotApplicable as e:
            LOG.error('libplacement: %s', e)
            return False
        LOG.info('libplacement: rebuilding server %s from image %s (%s) '
                 'into image %s (%s)', self.resource_id, self.original_image,
                 self.input_parameters.get('from_runtime', '?'), self.image,
                 self.input_parameters['to_runtime'])
        return self._rebuild(self.image)

    def post_condition(self):
        server = self._server()
        if server.status != 'ACTIVE' or self._image_of(server) != self.image:
            raise self._not_applicable(
                'after the rebuild it is %s on image %s, not ACTIVE on %s'
                % (server.status, self._image_of(server), self.image))

    def revert(self):
        server = self._server()
        if self._image_of(server) == self.original_image:
            return True
        LOG.warning('libplacement: reverting the runtime switch of server '
                    '%s: rebuilding it into its original image %s',
                    self.resource_id, self.original_image)
        return self._rebuild(self.original_image)

    def get_description(self):
        return ('Rebuild a server into the sibling image of its image for '
                'the runtime its workload class prefers (libplacement)')
