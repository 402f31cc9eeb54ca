"""python3-libplacement as Nova, Zun, Watcher and oslo-config-generator load it.

Everything is loaded the way the services do: Nova's filter and weigher
handlers, Nova's extra-spec validator registry, stevedore for Zun's
container driver and Watcher's plugins, oslo-config-generator's command for
the option namespaces. Zun is not packaged in Debian: its driver loads
against the interface stand-in of tests/zun (docs/zun.md).
"""

import importlib.util
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest

from conftest import (DIST_PACKAGES, HERE, MULTIARCH, ROOT, installed,
                      package_files, upstream_version)

ZUN_STANDIN = os.path.join(HERE, '..', 'zun', 'standin')


def from_package(module):
    """True when the module was imported from python3-libplacement."""
    return os.path.realpath(module.__file__).startswith(
        os.path.realpath(installed(DIST_PACKAGES)) + os.sep)


def distribution():
    """The one installed libplacement distribution (its egg-info)."""
    dists = [d for d in metadata.distributions()
             if (d.metadata['Name'] or '').lower() == 'libplacement']
    paths = sorted(str(d._path) for d in dists)
    assert len(dists) == 1, (
        'libplacement is installed more than once (%s): remove the other '
        'copies before testing the packages' % ', '.join(paths))
    assert paths[0].startswith(installed(DIST_PACKAGES) + '/'), paths[0]
    return dists[0]


def entry_points(group):
    return [ep for ep in distribution().entry_points if ep.group == group]


def test_module_is_linked_against_libplacement_so_1():
    import libplacement as lp
    assert from_package(lp), lp.__file__
    # __version__ comes from the C library (lp_version()).
    assert lp.__version__ == upstream_version('libplacement1')
    with open('/proc/self/maps') as f:
        mapped = {line.split()[-1] for line in f if 'libplacement.so' in line}
    assert mapped == {os.path.realpath(
        installed('/usr/lib/%s/libplacement.so.1' % MULTIARCH))}


def test_module_places_with_the_shared_library():
    """A 2-vCPU cpu request: refused where 7.5 of 8 threads are taken,
    preferred on the empty host (the filter and score of docs/policy.md)."""
    import libplacement as lp
    ctx = lp.Context(max_parallel_ratio=1.0)
    request = {'id': 'spark', 'vcpus': 2, 'workload': 'cpu'}
    hosts = [(8, 0.0, 16384, lp.RUNTIME_ALL, 0),
             (8, 7.5, 16384, lp.RUNTIME_ALL, 0),
             (8, 4.0, 16384, lp.RUNTIME_ALL, 0)]
    verdicts = ctx.filter_score(request, hosts)
    assert list(verdicts.passes) == [True, False, True]
    assert list(verdicts.reasons) == ['ok', 'parallelism', 'ok']
    assert verdicts.best() == 0
    assert 'demand 7.50 + 2.00 = 9.50 > cap 8.00' in verdicts.explain(1)


def test_debian_python_searches_the_install_directory():
    out = subprocess.run([sys.executable, '-I', '-c',
                          'import sys; print("\\n".join(sys.path))'],
                         check=True, capture_output=True, text=True).stdout
    assert DIST_PACKAGES in out.splitlines()


def test_nova_loads_the_filters_and_the_weigher():
    """available_filters = nova_filter.all_filters and weight_classes =
    nova_filter.weighers.ParallelismWeigher, through Nova's handlers, then
    one scheduling pass over three hosts."""
    from nova import objects
    objects.register_all()
    import nova.conf
    from nova.scheduler import filters
    from nova.scheduler import host_manager
    from nova.scheduler import weights

    nova.conf.CONF([], project='nova')
    filter_handler = filters.HostFilterHandler()
    classes = filter_handler.get_matching_classes(['nova_filter.all_filters'])
    assert sorted(c.__name__ for c in classes) == ['ParallelismFilter',
                                                   'RuntimeFilter']
    weight_handler = weights.HostWeightHandler()
    weighers = weight_handler.get_matching_classes(
        ['nova_filter.weighers.ParallelismWeigher'])
    assert [w.__name__ for w in weighers] == ['ParallelismWeigher']
    for cls in classes + weighers:
        assert from_package(sys.modules[cls.__module__])

    def host(name, threads):
        hs = host_manager.HostState(name, name, None)
        hs.vcpus_total = threads
        hs.vcpus_used = 0
        hs.free_ram_mb = hs.total_usable_ram_mb = 16384
        hs.instances = {}
        hs.num_instances = 0
        hs.limits = {}
        return hs

    hosts = [host('small', 2), host('big', 16), host('tiny', 1)]
    flavor = objects.Flavor(name='cpu4', flavorid='cpu4', vcpus=4,
                            memory_mb=2048, root_gb=10, ephemeral_gb=0,
                            swap=0, extra_specs={'libplacement:workload': 'cpu'})
    spec = objects.RequestSpec(
        flavor=flavor, instance_uuid='5f2a6f4c-7a4e-4b0e-9d0e-0c7d1d3b6a10',
        scheduler_hints={}, num_instances=1, numa_topology=None,
        pci_requests=None, image=objects.ImageMeta(
            properties=objects.ImageMetaProps()),
        ignore_hosts=None, force_hosts=None, force_nodes=None)
    passed = filter_handler.get_filtered_objects(
        [c() for c in classes], hosts, spec)
    assert [h.host for h in passed] == ['big']
    weighed = weight_handler.get_weighed_objects(
        [w() for w in weighers], hosts[:2], spec)
    assert weighed[0].obj.host == 'big'


def test_nova_validates_the_flavor_extra_specs():
    from nova.api.validation.extra_specs import validators
    from nova import exception
    validators.validate('libplacement:workload', 'cpu')
    with pytest.raises(exception.ValidationError):
        validators.validate('libplacement:workload', 'fast')
    assert from_package(sys.modules['nova_filter.extra_specs'])


def test_oslo_config_generator_lists_every_namespace():
    """Each oslo.config.opts namespace, by the oslo-config-generator command:
    every option that list_opts() returns appears in the sample."""
    eps = [ep for ep in entry_points('oslo.config.opts')
           if ep.name.startswith('libplacement.')]
    assert {'libplacement.nova', 'libplacement.zun'} <= {ep.name for ep in eps}
    for ep in eps:
        env = dict(os.environ)
        if ep.name == 'libplacement.zun':
            env['PYTHONPATH'] = env.get('PYTHONPATH', '') + ':' + ZUN_STANDIN
        sample = subprocess.run(
            ['oslo-config-generator', '--namespace', ep.name],
            check=True, capture_output=True, text=True, env=env).stdout
        groups = ep.load()()
        assert groups, ep.name
        for group, opts in groups:
            name = getattr(group, 'name', group)
            assert '[%s]' % name in sample, (ep.name, name)
            for opt in opts:
                assert re.search(r'^#%s =( |$)' % re.escape(opt.dest), sample, re.M), \
                    (ep.name, opt.dest)


def test_zun_container_driver_entry_point():
    """As Zun loads [DEFAULT] container_driver (stevedore), against the
    stand-in of Zun's interfaces, in a process of its own: Zun and Nova both
    define [DEFAULT] host on oslo.config's global CONF."""
    script = (
        'import sys\n'
        'sys.path.append(sys.argv[1])\n'
        'from stevedore import driver\n'
        'from zun.container import driver as zun_driver_base\n'
        "manager = driver.DriverManager('zun.container.driver',\n"
        "                               'libplacement.docker', invoke_on_load=False)\n"
        'assert issubclass(manager.driver, zun_driver_base.ContainerDriver)\n'
        'print(sys.modules[manager.driver.__module__].__file__)\n')
    out = subprocess.run([sys.executable, '-P', '-c', script, ZUN_STANDIN],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path = out.stdout.strip()
    assert os.path.realpath(path).startswith(
        os.path.realpath(installed(DIST_PACKAGES)) + os.sep), path


def test_watcher_plugins_load():
    """As Watcher loads its goals, strategies and actions (stevedore), in a
    process of their own: Watcher and Nova both define [DEFAULT] host on
    oslo.config's global CONF."""
    eps = [ep for ep in distribution().entry_points
           if ep.group.startswith('watcher_')]
    if not eps:
        pytest.skip('this build has no Watcher plugins')
    assert importlib.util.find_spec('watcher'), \
        'python3-watcher is not installed (scripts/deps/deb.txt)'
    script = (
        'import sys\n'
        'from stevedore import driver\n'
        'for group, name in zip(sys.argv[1::2], sys.argv[2::2]):\n'
        '    plugin = driver.DriverManager(group, name, invoke_on_load=False).driver\n'
        '    print(sys.modules[plugin.__module__].__file__)\n')
    args = [x for ep in eps for x in (ep.group, ep.name)]
    out = subprocess.run([sys.executable, '-P', '-c', script] + args, check=True,
                         capture_output=True, text=True).stdout.split()
    assert len(out) == len(eps)
    for path in out:
        assert os.path.realpath(path).startswith(
            os.path.realpath(installed(DIST_PACKAGES)) + os.sep), path


def test_no_test_code_is_installed():
    """Nothing from tests/, no fixtures, no module that needs the source
    tree (make demo's); only the packages setup.py lists."""
    files = package_files('python3-libplacement')
    bad = [f for f in files
           if re.search(r'/(tests?|testing)(/|$)|/(conftest|testbed|demo)\.py$'
                        r'|/test_[^/]*\.py$|/__pycache__(/|$)', f)]
    assert not bad
    top = distribution().read_text('top_level.txt').split()
    assert 'tests' not in top
    packages = {f.split('/')[5] for f in files
                if f.startswith(DIST_PACKAGES + '/') and f.endswith('/__init__.py')}
    assert packages == set(top) - {'libplacement'}
    assert {'nova_filter', 'zun_driver', 'libplacement_oslo'} <= packages
    for path in files:
        if path.endswith('.py'):
            with open(installed(path)) as f:
                text = f.read()
            assert not re.search(r'^\s*(from|import)\s+(tests|testbed)\b',
                                 text, re.M), path
