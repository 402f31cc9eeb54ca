"""Zun Docker driver that runs each container in its libplacement runtime.

Registered under the entry point ``zun.container.driver`` as
``libplacement.docker``; enable it on zun-compute hosts with::

    [DEFAULT]
    container_driver = libplacement.docker
"""

from oslo_log import log as logging
from zun.common import consts
import zun.conf
from zun.container.docker import driver as docker_driver

from zun_driver import opts
from zun_driver import policy as lp_policy
from zun_driver import request as lp_request

CONF = zun.conf.CONF
opts.register_opts(CONF)
LOG = logging.getLogger(__name__)


class LibplacementDockerDriver(docker_driver.DockerDriver):
    """Zun's DockerDriver, with the runtime decided before create.

    The scheduler filter normally records the runtime on the container
    already; this driver then changes nothing.  When scheduling was
    bypassed (another scheduler driver, or a filter list without
    LibplacementFilter), it decides the runtime here from the container's
    class (label, else the class learned for its image from what this
    host's agent measured) and the runtimes this host's Docker offers.

    On a rebuild (``openstack appcontainer rebuild``) it decides again for a
    container whose runtime libplacement chose (label
    ``libplacement.runtime``) or that has none: a container of class
    ``auto`` takes the class this host's agent measured for it (else the
    learned class of its image), so a rebuild carries out the runtime
    switch the rebalancing planner recommends, keeping the container's
    uuid, name, host, addresses and volumes.  A runtime chosen by the user
    is never changed.

    A failure to decide is logged and the container is created with the
    runtime it has, or Zun's default (``[DEFAULT] container_runtime``):
    the choice is advice, not a reason to fail a create.
    """

    def create(self, context, container, image, requested_networks,
               requested_volumes):
        """Decide the runtime where libplacement may, then create as Zun
        does."""
        if self._is_runtime_supported():
            self._decide_runtime(container)
        return super(LibplacementDockerDriver, self).create(
            context, container, image, requested_networks, requested_volumes)

    def _decide_runtime(self, container):
        rebuilding = (lp_request.container_field(container, 'status') ==
                      consts.REBUILDING)
        current = lp_request.container_field(container, 'runtime')
        if current and not rebuilding:
            return
        try:
            # A Policy per create: creates run concurrently, and one
            # libplacement Context must not be shared by threads.
            policy = lp_policy.Policy(CONF.libplacement)
            request = lp_request.ContainerRequest(
                container, default_workload=policy.default_workload)
            if request.user_runtime is not None:
                return
            if policy.agents is not None:
                policy.agents.want([CONF.host])
            klass, why = self._class(policy, request, container, rebuilding)
            runtime = policy.runtime_for(klass,
                                         self.get_host_info()['runtimes'])
        except Exception:
            LOG.exception('libplacement could not choose a runtime for '
                          'container %s; it keeps %s',
                          lp_request.container_field(container, 'uuid'),
                          current or 'Zun\'s default')
            return
        rid = request.request['id']
        if runtime is None:
            if rebuilding:
                LOG.info('libplacement: container %s is rebuilt with its '
                         'runtime %s: %s', rid, current or '(Zun default)',
                         why)
            return
        if rebuilding and runtime != current:
            LOG.info('libplacement: container %s is rebuilt with runtime %s '
                     'instead of %s: %s', rid, runtime,
                     current or '(Zun default)', why)
        else:
            LOG.debug('libplacement: container %s gets runtime %s: %s', rid,
                      runtime, why)
        lp_request.record_runtime(container, runtime)

    @staticmethod
    def _class(policy, request, container, rebuilding):
        """(class, why) to decide the runtime by.

        A rebuilt container of class auto: what this host's agent measured
        it to be, if it measured it confidently enough; otherwise (and
        for every create) its label, or the class learned for its image.
        """
        measured_why = None
        if rebuilding and request.request['workload'] == 'auto':
            klass, measured_why = policy.measured_class(
                CONF.host,
                lp_request.container_field(container, 'container_id'))
            if klass is not None:
                return klass, measured_why
        klass, _req, source = policy.resolve(request)
        if source is None:
            source = ('class %s: nothing is learned without agent_url' % klass
                      if request.request['workload'] == 'auto' else
                      'class %s from its label or default_workload' % klass)
        why = source
        return klass, '; '.join(w for w in (measured_why, why) if w)
