"""Zun Docker driver that runs each container in its libplacement runtime.

Registered under the entry point ``zun.container.driver`` as
``libplacement.docker``; enable it on zun-compute hosts with::

    [DEFAULT]
    container_driver = libplacement.docker
"""

from oslo_log import log as logging
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
    class and the runtimes this host's Docker offers.  A failure to decide
    is logged and the container is created with Zun's default runtime
    (``[DEFAULT] container_runtime``): the choice is advice, not a reason
    to fail a create.
    """

    def create(self, context, container, image, requested_networks,
               requested_volumes):
        """Set container.runtime if unset, then create as Zun does."""
        if (not lp_request.container_field(container, 'runtime') and
                self._is_runtime_supported()):
            self._decide_runtime(container)
        return super(LibplacementDockerDriver, self).create(
            context, container, image, requested_networks, requested_volumes)

    def _decide_runtime(self, container):
        try:
            # A Policy per create: creates run concurrently, and one
            # libplacement Context must not be shared by threads.
            policy = lp_policy.Policy(CONF.libplacement)
            request = lp_request.ContainerRequest(
                container, default_workload=policy.default_workload)
            offered = self.get_host_info()['runtimes']
            runtime = policy.runtime_for(request, offered)
        except Exception:
            LOG.exception('libplacement could not choose a runtime for '
                          'container %s; using Zun\'s default',
                          lp_request.container_field(container, 'uuid'))
            return
        if runtime is not None:
            LOG.debug('libplacement: container %s gets runtime %s',
                      request.request['id'], runtime)
            container.runtime = runtime
