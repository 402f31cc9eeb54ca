"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

DockerDriver.create(context, container, image, requested_networks,
requested_volumes) passes container.runtime or CONF.container_runtime
to Docker as HostConfig.Runtime when the Docker API is 1.26 or later, and
refuses a container runtime on older APIs.  get_host_info() reports, among
others, the runtimes Docker's info lists; get_available_resources() what
zun-compute stores in its node row (cpus, memory in MB, runtimes, ...).
create names the image ``repo:tag`` (``repo`` without a tag), sets
container.container_id to the new Docker container's id and its status to
Created (as _populate_container reads them from Docker) and returns the
container, which zun-compute saves; delete removes it,
check_container_exist tells whether it exists, start starts it.  Instead
of a Docker daemon, the stand-in keeps its containers in ``docker`` ({id:
create arguments}), records every create in ``created`` and takes the
host's Docker info from the class attribute host_info.
"""

import uuid

from zun.common import consts
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
        self.docker = {}

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
        if image['tag']:
            image_repo = image['repo'] + ':' + image['tag']
        else:
            image_repo = image['repo']
        docker_id = uuid.uuid4().hex + uuid.uuid4().hex
        self.docker[docker_id] = {
            'name': container.name, 'image': image_repo,
            'labels': container.labels, 'host_config': {'runtime': runtime},
            'running': False}
        self.created.append(self.docker[docker_id])
        container.container_id = docker_id
        container.status = consts.CREATED
        return container

    def check_container_exist(self, container):
        return container.container_id in self.docker

    def delete(self, context, container, force):
        self.docker.pop(container.container_id, None)

    def start(self, context, container):
        self.docker[container.container_id]['running'] = True
        container.status = consts.RUNNING
        container.save(context)
        return container
