"""LibplacementFilter in Zun's filter scheduler (stand-in, see docs/zun.md)."""

import pytest
from zun.common import exception
from zun.scheduler import filter_scheduler

from zun_driver import filters
from zun_driver import opts

import zunhelpers as zh

AVAILABLE = ['zun.scheduler.filters.all_filters',
             'zun_driver.filters.LibplacementFilter']


@pytest.fixture
def scheduler(conf):
    """Zun's FilterScheduler with RuntimeFilter and LibplacementFilter."""
    conf.config(group='scheduler', available_filters=AVAILABLE,
                enabled_filters=['RuntimeFilter', 'LibplacementFilter'])
    return filter_scheduler.FilterScheduler()


def test_loaded_by_zun_from_available_filters(scheduler):
    assert [type(f).__name__ for f in scheduler.enabled_filters] == [
        'RuntimeFilter', 'LibplacementFilter']
    assert filters.all_filters() == [filters.LibplacementFilter]


def test_hosts_over_cap_removed_rest_best_first(scheduler):
    hosts = [zh.host('busy', cpu_used=6.5), zh.host('half', cpu_used=4),
             zh.host('full', cpu_used=7), zh.host('idle', cpu_used=0),
             zh.host('edge', cpu_used=6)]
    cnt = zh.container('cpu', cpu=2)
    got = scheduler._get_filtered_hosts(hosts, cnt, {'hints': None})
    # 8 threads, cap 8: 6.5 + 2 and 7 + 2 exceed it, 6 + 2 just fits.
    assert zh.names(got) == ['idle', 'half', 'edge']


def test_ratio_option_moves_the_cap(scheduler, conf):
    conf.config(group='libplacement', max_parallel_ratio=1.5)
    hosts = [zh.host('a', cpu_used=9.5), zh.host('b', cpu_used=10.5)]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('cpu', cpu=2), {})
    assert zh.names(got) == ['a']   # 11.5 <= 12 < 12.5


def test_cpu_container_gets_vm_isolated_runtime_and_only_hosts_offering_it(
        scheduler):
    hosts = [zh.host('runc-only', runtimes=zh.RUNC),
             zh.host('kata-busy', cpu_used=5),
             zh.host('kata-idle', cpu_used=1)]
    cnt = zh.container('cpu')
    assert cnt.runtime is None
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert zh.names(got) == ['kata-idle', 'kata-busy']
    assert cnt.runtime == 'kata-runtime'
    # Recorded as a change, so it travels to zun-compute and is saved.
    assert 'runtime' in cnt.obj_what_changed()


def test_cpu_container_and_no_host_offers_a_vm_runtime(scheduler):
    hosts = [zh.host('a', runtimes=zh.RUNC), zh.host('b', runtimes=zh.RUNC)]
    cnt = zh.container('cpu')
    assert scheduler._get_filtered_hosts(hosts, cnt, {}) == []
    assert cnt.runtime is None


def test_net_container_gets_runc(scheduler):
    hosts = [zh.host('runc-only', runtimes=zh.RUNC, cpu_used=3),
             zh.host('kata', cpu_used=2)]
    cnt = zh.container('net')
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert cnt.runtime == 'runc'
    assert sorted(zh.names(got)) == ['kata', 'runc-only']


def test_runtime_map_is_configurable(scheduler, conf):
    conf.config(group='libplacement',
                docker_runtimes={'container': 'runc', 'unikernel': 'osv',
                                 'vm': 'kata'})
    hosts = [zh.host('osv', runtimes=['runc', 'osv']),
             zh.host('kata', runtimes=['runc', 'kata']),
             zh.host('plain', runtimes=zh.RUNC)]
    cnt = zh.container('cpu')
    got = filters.LibplacementFilter().filter_all(hosts, cnt, {})
    # cpu prefers unikernel, then vm: the best host's runtime is kept.
    assert cnt.runtime == 'osv'
    assert zh.names(got) == ['osv']


def test_runtime_order_lets_cpu_fall_back_to_runc(scheduler, conf):
    conf.config(group='libplacement',
                runtime_order={'cpu': 'unikernel+vm+container'})
    hosts = [zh.host('a', runtimes=zh.RUNC), zh.host('b', runtimes=zh.RUNC,
                                                     cpu_used=2)]
    cnt = zh.container('cpu')
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert cnt.runtime == 'runc'
    assert zh.names(got) == ['a', 'b']


def test_default_workload_for_unlabelled_containers(scheduler, conf):
    conf.config(group='libplacement', default_workload='net')
    cnt = zh.container(None)
    got = scheduler._get_filtered_hosts([zh.host('a')], cnt, {})
    assert cnt.runtime == 'runc' and zh.names(got) == ['a']


def test_policy_parameters_reach_the_core(scheduler, conf):
    # weight_headroom 0: every passing host scores 0, so Zun's order stays
    # (by default the idle host would come first).
    conf.config(group='libplacement', policy={'weight_headroom': '0'})
    hosts = [zh.host('busy', cpu_used=5), zh.host('idle')]
    got = scheduler._get_filtered_hosts(hosts, zh.container('cpu'), {})
    assert zh.names(got) == ['busy', 'idle']


def test_user_runtime_respected(scheduler):
    hosts = [zh.host('runc-only', runtimes=zh.RUNC),
             zh.host('kata', cpu_used=3)]
    cnt = zh.container('cpu', runtime='runc')
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert cnt.runtime == 'runc'
    assert 'runtime' not in cnt.obj_what_changed()
    assert zh.names(got) == ['runc-only', 'kata']

    cnt = zh.container('net', runtime='kata-runtime')
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert cnt.runtime == 'kata-runtime'
    assert zh.names(got) == ['kata']     # Zun's RuntimeFilter


def test_user_runtime_still_capped(scheduler):
    hosts = [zh.host('full', cpu_used=7.5), zh.host('ok', cpu_used=1)]
    cnt = zh.container('cpu', runtime='runc')
    assert zh.names(scheduler._get_filtered_hosts(hosts, cnt, {})) == ['ok']


def test_container_without_class_keeps_zun_default_runtime(scheduler):
    hosts = [zh.host('runc-only', runtimes=zh.RUNC, cpu_used=1),
             zh.host('full', cpu_used=7), zh.host('kata', cpu_used=2)]
    cnt = zh.container(None, cpu=1.5)
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert cnt.runtime is None
    assert zh.names(got) == ['runc-only', 'kata']


def test_unset_runtime_field_is_not_read(scheduler):
    """Before the database save the field is unset: reading it raises."""
    cnt = zh.container('net', created=False)
    with pytest.raises(exception.ObjectActionError):
        cnt.runtime
    got = filters.LibplacementFilter().filter_all([zh.host('a')], cnt, {})
    assert zh.names(got) == ['a'] and cnt.runtime == 'runc'


def test_memory_checked(scheduler):
    hosts = [zh.host('small', mem_total=1024, mem_used=768),
             zh.host('big', cpu_used=4)]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('net', memory='512'), {})
    assert zh.names(got) == ['big']


def test_host_passes_matches_filter_all(scheduler):
    flt = filters.LibplacementFilter()
    assert flt.host_passes(zh.host('a', cpu_used=2), zh.container('cpu'), {})
    assert not flt.host_passes(zh.host('b', cpu_used=7),
                               zh.container('cpu'), {})


def test_host_without_cpus_refused_alone(scheduler):
    hosts = [zh.host('new', cpus=0), zh.host('ok')]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('cpu'), {})
    assert zh.names(got) == ['ok']


@pytest.mark.parametrize('fail_open', [True, False])
def test_bad_label_never_escapes(scheduler, conf, fail_open):
    conf.config(group='libplacement', fail_open=fail_open)
    hosts = [zh.host('full', cpu_used=8), zh.host('ok')]
    cnt = zh.container('bogus')
    got = scheduler._get_filtered_hosts(hosts, cnt, {})
    assert zh.names(got) == (['full', 'ok'] if fail_open else [])
    assert cnt.runtime is None


@pytest.mark.parametrize('fail_open', [True, False])
@pytest.mark.parametrize('option', [
    {'docker_runtimes': {'bogus': 'runc'}},
    {'runtime_order': {'cpu': 'unikernel+warp'}},
    {'policy': {'weight_spread': 'lots'}},
    {'policy': {'no_such_parameter': '1'}},
])
def test_bad_option_never_escapes(conf, fail_open, option):
    conf.config(group='libplacement', fail_open=fail_open, **option)
    conf.config(group='scheduler', available_filters=AVAILABLE,
                enabled_filters=['LibplacementFilter'])
    sched = filter_scheduler.FilterScheduler()   # loads despite the option
    hosts = [zh.host('a'), zh.host('b')]
    got = sched._get_filtered_hosts(hosts, zh.container('cpu'), {})
    assert zh.names(got) == (['a', 'b'] if fail_open else [])


def test_bad_hint_never_escapes(scheduler):
    hosts = [zh.host('full', cpu_used=8)]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('cpu'), {'hints': {'libplacement_group': 5}})
    assert zh.names(got) == ['full']      # fail-open default


def test_bad_host_numbers_never_escape(scheduler):
    broken = zh.host('broken')
    broken.cpu_used = float('nan')
    got = filters.LibplacementFilter().filter_all(
        [broken, zh.host('ok', cpu_used=7.5)], zh.container('cpu'), {})
    assert zh.names(got) == ['broken', 'ok']


def test_empty_host_list():
    assert filters.LibplacementFilter().filter_all(
        iter([]), zh.container('cpu'), {}) == []


def test_options_listed_with_help():
    [(group, options)] = opts.list_opts()
    assert group.name == 'libplacement'
    names = {o.name for o in options}
    assert {'agent_url', 'agent_timeout', 'agent_ttl', 'runtime_order',
            'max_parallel_ratio', 'docker_runtimes', 'fail_open'} <= names
    assert all(o.help for o in options)


def test_entry_points(tmp_path):
    """As setup.py registers them (egg-info from `make python`)."""
    from importlib import metadata

    from oslo_config import generator

    from zun_driver import driver
    eps = metadata.entry_points()
    [drv] = [ep for ep in eps.select(group='zun.container.driver')
             if ep.name == 'libplacement.docker']
    assert drv.load() is driver.LibplacementDockerDriver
    out = tmp_path / 'zun.conf.sample'
    generator.main(['--namespace', 'libplacement.zun',
                    '--output-file', str(out)])
    sample = out.read_text()
    assert '[libplacement]' in sample
    assert '#docker_runtimes = ' in sample and '#fail_open = true' in sample
