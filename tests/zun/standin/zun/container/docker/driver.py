"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

DockerDriver.create(context, container, image, requested_networks,
requested_volumes) passes container.runtime or CONF.container_runtime
to Docker as HostConfig.Runtime when the Docker API is 1.26 or later, and
refuses a container runtime on older APIs.  get_host_info() reports, among
others, the runtimes Docker's info lists; get_available_resources() what
zun-compute stores in its node row (cpus, memory in MB, runtimes, ...).  Instead of a Docker daemon, the
stand-in records the create arguments in created and takes the host's
Docker info from the class attribute host_info.
"""

from zun.common import exception
import zun.conf
from zun.container import driver

CONF = zun.conf.CONF


class DockerDriver(driver.BaseDriver, driver.ContainerDriver):
    host_info = {'runtimes': ['runc'], 'labels': {}, 'cpus': 8,
                 'mem_total': 32768}

    def __init__(self):
        super(DockerDriver, self).__init__()
        self.created = []

    def get_host_info(self):
        return dict(self.host_info)

    def get_available_resources(self):
        info = self.get_host_info()
        return {'cpus': info['cpus'], 'mem_total': info['mem_total'],
                'mem_available': info['mem_total'], 'disk_total': 100,
                'disk_used': 0, 'numa_topology': None,
                'labels': info['labels'], 'runtimes': info['runtimes'],
                'disk_quota_supported': False, 'enable_cpu_pinning': False}

    def _is_runtime_supported(self):
        return float(CONF.docker.docker_remote_api_version) >= 1.26

    def create(self, context, container, image, requested_networks,
               requested_volumes):
        if not self._is_runtime_supported():
            if container.runtime:
                raise exception.ZunException(
                    'Specifying runtime in Docker API is not supported')
            runtime = None
        else:
            runtime = container.runtime or CONF.container_runtime
        self.created.append({'name': container.name, 'image': image,
                             'labels': container.labels,
                             'host_config': {'runtime': runtime}})
        return container
