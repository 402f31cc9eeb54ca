"""LibplacementDockerDriver over Zun's DockerDriver (stand-in)."""

import pytest

from zun_driver import driver as lp_driver
from zun_driver import filters

import zunhelpers as zh


def create(drv, cnt):
    """Create as zun-compute does; return HostConfig.Runtime sent to Docker."""
    drv.create(None, cnt, {'repo': 'busybox', 'tag': ''}, [{}], {})
    return drv.created[-1]['host_config']['runtime']


@pytest.fixture
def drv(conf):
    drv = lp_driver.LibplacementDockerDriver()
    drv.host_info = {'runtimes': zh.RUNC_KATA}
    return drv


def test_runtime_recorded_by_scheduler_is_applied(drv, conf):
    cnt = zh.container('cpu')
    filters.LibplacementFilter().filter_all([zh.host('a')], cnt, {})
    assert create(drv, cnt) == 'kata-runtime'


def test_bypassed_scheduling_decides_here(drv):
    assert create(drv, zh.container('cpu')) == 'kata-runtime'
    assert create(drv, zh.container('io')) == 'runc'


def test_host_without_vm_runtime_uses_zun_default(drv, conf):
    conf.config(container_runtime='crun')
    drv.host_info = {'runtimes': zh.RUNC}
    cnt = zh.container('cpu')
    assert create(drv, cnt) == 'crun'
    assert cnt.runtime is None


def test_user_runtime_respected(drv):
    assert create(drv, zh.container('cpu', runtime='runc')) == 'runc'


def test_unknown_class_keeps_zun_default(drv):
    assert create(drv, zh.container(None)) == 'runc'


def test_unset_runtime_field(drv):
    cnt = zh.container('cpu', created=False)
    assert create(drv, cnt) == 'kata-runtime'


def test_old_docker_api_gets_no_runtime(drv, conf):
    conf.config(group='docker', docker_remote_api_version='1.25')
    assert create(drv, zh.container('cpu')) is None


def test_errors_never_escape(drv):
    assert create(drv, zh.container('bogus')) == 'runc'

    def broken_info():
        raise RuntimeError('docker info failed')
    drv.get_host_info = broken_info
    assert create(drv, zh.container('cpu')) == 'runc'
