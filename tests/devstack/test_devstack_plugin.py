"""devstack/plugin.sh run phase by phase (run-phases.sh, standins.sh).

The resulting nova.conf and zun.conf are read with oslo.config, with Nova's
own scheduler options (python3-nova) and zun_driver's options.
"""

import os
import subprocess

from nova.conf import scheduler as nova_scheduler_conf
from oslo_config import cfg
import pytest

from zun_driver import opts as zun_opts

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
STACK = ['stack pre-install', 'stack install', 'stack post-config',
         'stack extra', 'stack test-config']

# What devstack's lib/nova writes (NOVA_FILTERS) before plugins run.
DEVSTACK_NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                         'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                         'ServerGroupAffinityFilter,SameHostFilter,'
                         'DifferentHostFilter')
NOVA_CONF = """[DEFAULT]
debug = True

[filter_scheduler]
enabled_filters = %s

[scheduler]
workers = 2
""" % DEVSTACK_NOVA_FILTERS
ZUN_CONF = """[DEFAULT]
debug = True
container_runtime = runc

[scheduler]
driver = filter_scheduler
"""


class Stack(object):
    """A devstack node in a temporary directory."""

    def __init__(self, tmp, services, nova_conf=NOVA_CONF, zun_conf=ZUN_CONF):
        self.tmp = str(tmp)
        self.nova_conf = os.path.join(self.tmp, 'etc/nova/nova.conf')
        self.zun_conf = os.path.join(self.tmp, 'etc/zun/zun.conf')
        self.prefix = os.path.join(self.tmp, 'prefix')
        self.state = os.path.join(self.tmp, 'data/libplacement')
        self.calls_file = os.path.join(self.tmp, 'calls')
        for path, text in ((self.nova_conf, nova_conf),
                           (self.zun_conf, zun_conf)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
        self.env = dict(
            os.environ, DEST=os.path.join(self.tmp, 'opt'),
            DATA_DIR=os.path.join(self.tmp, 'data'),
            NOVA_CONF=self.nova_conf, ZUN_CONF=self.zun_conf,
            ENABLED_SERVICES=services, HARNESS_CALLS=self.calls_file,
            LIBPLACEMENT_DIR=TOP, LIBPLACEMENT_PREFIX=self.prefix,
            LIBPLACEMENT_BUILD_DIR=os.path.join(self.tmp, 'build'))

    def run(self, *phases):
        if os.path.exists(self.calls_file):
            os.unlink(self.calls_file)
        proc = subprocess.run(
            ['bash', os.path.join(HERE, 'run-phases.sh')] + list(phases),
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=120)
        assert proc.returncode == 0, proc.stdout
        return self.calls()

    def calls(self):
        """Calls recorded by the stand-ins, except those of settings."""
        if not os.path.exists(self.calls_file):
            return []
        with open(self.calls_file) as f:
            calls = [line.rstrip('\n').split('|') for line in f]
        assert calls[:2] == [['define_plugin', 'libplacement'],
                             ['enable_service', 'libplacement-agent']]
        return calls[2:]

    def files(self):
        with open(self.nova_conf) as f, open(self.zun_conf) as g:
            return f.read(), g.read()

    def installed(self):
        found = []
        for root, dirs, files in os.walk(self.prefix):
            found += [os.path.join(root, n) for n in files]
        return sorted(found)


def nova(path):
    """nova.conf as Nova reads it (its real [filter_scheduler] options)."""
    conf = cfg.ConfigOpts()
    nova_scheduler_conf.register_opts(conf)
    conf.register_opts([cfg.StrOpt('agent_url'),
                        cfg.FloatOpt('max_parallel_ratio'),
                        cfg.BoolOpt('fail_open')], group='libplacement')
    conf(['--config-file', path], project='nova')
    return conf


def zun(path):
    """zun.conf with Zun's option types and zun_driver's options."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('container_driver', default='docker'),
                        cfg.StrOpt('container_runtime', default='runc')])
    conf.register_opts([
        cfg.MultiStrOpt('available_filters',
                        default=['zun.scheduler.filters.all_filters']),
        cfg.ListOpt('enabled_filters',
                    default=['AvailabilityZoneFilter', 'ComputeFilter',
                             'RuntimeFilter'])], group='scheduler')
    zun_opts.register_opts(conf)
    conf(['--config-file', path], project='zun')
    return conf


def has_section(path, section):
    with open(path) as f:
        return any(line.strip() == '[%s]' % section for line in f)


ALL = 'n-api,n-sch,n-cpu,zun-api,zun-compute'


@pytest.fixture(scope='module')
def stacked(tmp_path_factory):
    """An all-in-one node after every stack phase, and the calls made."""
    node = Stack(tmp_path_factory.mktemp('stacked'), ALL)
    return node, node.run(*STACK)


def test_post_config_nova(stacked):
    node, _calls = stacked
    conf = nova(node.nova_conf)
    fs = conf.filter_scheduler
    assert fs.available_filters == ['nova.scheduler.filters.all_filters',
                                    'nova_filter.all_filters']
    assert fs.enabled_filters == (DEVSTACK_NOVA_FILTERS.split(',') +
                                  ['ParallelismFilter', 'RuntimeFilter'])
    assert fs.weight_classes == ['nova.scheduler.weights.all_weighers',
                                 'nova_filter.weighers.ParallelismWeigher']
    assert conf.libplacement.agent_url == 'http://{host}:9180/v1/snapshot'
    assert conf.libplacement.max_parallel_ratio == 1.0
    assert conf.libplacement.fail_open is True
    assert conf.scheduler.workers == 2       # untouched


def test_post_config_zun(stacked):
    node, _calls = stacked
    conf = zun(node.zun_conf)
    assert conf.scheduler.available_filters == [
        'zun.scheduler.filters.all_filters',
        'zun_driver.filters.LibplacementFilter']
    assert conf.scheduler.enabled_filters == [
        'AvailabilityZoneFilter', 'ComputeFilter', 'RuntimeFilter',
        'LibplacementFilter']
    assert conf.container_driver == 'libplacement.docker'
    assert conf.container_runtime == 'runc'  # untouched
    assert conf.libplacement.docker_runtimes == {
        'container': 'runc', 'unikernel': 'kata-runtime',
        'vm': 'kata-runtime'}
    assert conf.libplacement.agent_url == 'http://{host}:9180/v1/snapshot'


def test_install_and_agent(stacked):
    node, calls = stacked
    assert calls[0][0] == 'install_package'
    assert 'libjson-c-dev' in calls[0] and 'libcurl4-openssl-dev' in calls[0]
    makes = [c for c in calls if c[0] == 'make']
    assert [c[-1] for c in makes] == ['all', 'install']
    assert ['setup_install', TOP,
            'LP_LIB_A=%s/build/libplacement.a' % node.tmp] in calls
    agent = [c for c in calls if c[0] == 'run_process']
    assert agent == [['run_process', 'libplacement-agent',
                      node.prefix + '/bin/libplacement-agent '
                      '--listen 0.0.0.0 --port 9180', '', 'root']]
    assert os.path.realpath(node.prefix + '/lib/libplacement.so') == \
        node.prefix + '/lib/libplacement.so.1.0.0'
    assert node.prefix + '/bin/libplacement-agent' in node.installed()


def test_twice_idempotent_then_unstack_clean_undo(tmp_path):
    node = Stack(tmp_path, ALL)
    before_nova, before_zun = nova(node.nova_conf), zun(node.zun_conf)
    node.run(*STACK)
    first, installed = node.files(), node.installed()
    node.run(*STACK)
    assert node.files() == first
    assert node.installed() == installed
    with open(os.path.join(node.state, 'installed-files')) as f:
        assert sorted(f.read().splitlines()) == installed   # no duplicates

    assert node.run('unstack') == [['stop_process', 'libplacement-agent']]
    assert node.files() == first

    calls = node.run('clean')
    assert ['pip_uninstall', 'libplacement'] in calls
    after_nova, after_zun = nova(node.nova_conf), zun(node.zun_conf)
    for opt in ('available_filters', 'enabled_filters', 'weight_classes'):
        assert (after_nova.filter_scheduler[opt] ==
                before_nova.filter_scheduler[opt]), opt
    assert after_zun.scheduler.available_filters == \
        before_zun.scheduler.available_filters
    assert after_zun.scheduler.enabled_filters == \
        before_zun.scheduler.enabled_filters
    assert after_zun.container_driver == 'docker'
    assert not has_section(node.nova_conf, 'libplacement')
    assert not has_section(node.zun_conf, 'libplacement')
    assert not os.path.exists(node.prefix)
    assert not os.path.exists(node.state)
    assert node.files() == (NOVA_CONF, ZUN_CONF)     # byte for byte

    # and the node stacks again from there
    node.run(*STACK)
    assert node.files() == first


def test_existing_settings_are_kept(tmp_path):
    nova_conf = """[filter_scheduler]
available_filters = my.filters.all_filters
weight_classes = nova.scheduler.weights.ram.RAMWeigher,my.weights.MyWeigher
"""
    zun_conf = """[DEFAULT]
container_driver = docker

[scheduler]
available_filters = my.zun.MyFilter
enabled_filters = ComputeFilter,MyFilter
"""
    node = Stack(tmp_path, ALL, nova_conf=nova_conf, zun_conf=zun_conf)
    node.run(*STACK)
    fs = nova(node.nova_conf).filter_scheduler
    assert fs.available_filters == ['my.filters.all_filters',
                                    'nova_filter.all_filters']
    # enabled_filters was unset: Nova's defaults are kept, ours appended
    assert fs.enabled_filters == [
        'ComputeFilter', 'ComputeCapabilitiesFilter', 'ImagePropertiesFilter',
        'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter',
        'ParallelismFilter', 'RuntimeFilter']
    assert fs.weight_classes == ['nova.scheduler.weights.ram.RAMWeigher',
                                 'my.weights.MyWeigher',
                                 'nova_filter.weighers.ParallelismWeigher']
    sched = zun(node.zun_conf).scheduler
    assert sched.available_filters == [
        'my.zun.MyFilter', 'zun_driver.filters.LibplacementFilter']
    assert sched.enabled_filters == ['ComputeFilter', 'MyFilter',
                                     'LibplacementFilter']
    node.run('unstack', 'clean')
    after = nova(node.nova_conf).filter_scheduler
    assert after.available_filters == ['my.filters.all_filters']
    assert after.weight_classes == ['nova.scheduler.weights.ram.RAMWeigher',
                                    'my.weights.MyWeigher']
    assert zun(node.zun_conf).container_driver == 'docker'
    assert zun(node.zun_conf).scheduler.enabled_filters == [
        'ComputeFilter', 'MyFilter']


def test_nova_only_controller(tmp_path):
    """No Zun, no compute service: zun.conf untouched, no agent started."""
    node = Stack(tmp_path, 'n-api,n-sch')
    zun_before = node.files()[1]
    calls = node.run(*STACK)
    assert node.files()[1] == zun_before
    assert not [c for c in calls if c[0] == 'run_process']
    assert 'ParallelismFilter' in nova(node.nova_conf).filter_scheduler \
        .enabled_filters
    node.run('unstack', 'clean')
    assert node.files()[1] == zun_before


def test_agent_disabled(tmp_path):
    """local.conf: disable_service libplacement-agent."""
    node = Stack(tmp_path, ALL)
    node.env['DISABLED_SERVICES'] = 'libplacement-agent'
    calls = node.run(*STACK)
    assert not [c for c in calls if c[0] == 'run_process']
    conf = nova(node.nova_conf)
    assert conf.libplacement.agent_url is None
    assert 'ParallelismFilter' in conf.filter_scheduler.enabled_filters
    assert zun(node.zun_conf).libplacement.agent_url is None


def test_compute_only_node(tmp_path):
    """A zun-compute node: driver set, scheduler options left alone."""
    node = Stack(tmp_path, 'n-cpu,zun-compute')
    node.run(*STACK)
    conf = zun(node.zun_conf)
    assert conf.container_driver == 'libplacement.docker'
    assert conf.scheduler.enabled_filters == [
        'AvailabilityZoneFilter', 'ComputeFilter', 'RuntimeFilter']
    assert 'ParallelismFilter' not in nova(node.nova_conf) \
        .filter_scheduler.enabled_filters
