"""Watcher's compute model as the planner sees it (libplacement_watcher.cluster
and .agents): declared demand, pinned instances, measured snapshots."""

import logging

import libplacement as lp
import pytest

from agentserver import snapshot
from cloudmodel import Cloud, uuid

CPU1 = {'libplacement:workload': 'cpu', 'libplacement:parallelism': '1'}
NET = {'libplacement:workload': 'net'}


def _reservations(specs, default='auto'):
    from libplacement_watcher import cluster

    def reservation(instance):
        return cluster.flavor_reservation(instance.uuid,
                                          specs.get(instance.name), default)
    return reservation


def _loads(view):
    """{host: (threads, demand, memory_free_mb, runtimes_mask)} as the core
    computes them from the cluster file."""
    c = lp.Cluster.from_json(view.to_json(), origin='test')
    return {name: tuple(load[:4]) for name, load in zip(c.names(), c.loads())}


def test_declared_demand_pins_and_node_states(watcher):
    from libplacement_watcher import cluster

    cloud = Cloud()
    cloud.node('node1')
    cloud.node('node2', status='disabled')
    cloud.node('node3', state='down')
    cloud.node('ironic', vcpus=0)
    cloud.instance('node1', 'big', vcpus=4)              # unknown: 4
    cloud.instance('node1', 'web', vcpus=2,              # net: 0.5 x 2
                   metadata={'libplacement_group': 'shop'})
    cloud.instance('node1', 'pi', vcpus=4)               # cpu, 1 thread
    cloud.instance('node1', 'locked', locked=True)       # unknown: 2
    cloud.instance('node1', 'off', state='stopped')      # unknown: 2
    cloud.instance('node2', 'left', vcpus=3)
    view = cluster.build(cloud.model,
                         _reservations({'web': NET, 'pi': CPU1}), {})

    loads = _loads(view)
    free1 = 16384 - 512 - (4 * 2048 + 2048)
    assert loads['node1'] == (8, 4 + 1 + 1 + 2 + 2, free1,
                              lp.runtime_mask('unikernel,vm'))
    # Disabled and down nodes offer no runtime: nothing moves there.
    assert loads['node2'][1] == 3 and loads['node2'][3] == 0
    assert loads['node3'][3] == 0
    assert view.skipped == {'ironic': 'reports no vCPUs'}
    assert view.pinned == {
        uuid('locked'): 'locked',
        uuid('off'): 'in state stopped (only active instances are '
                     'live-migrated)'}
    assert view.sources == {'node1': 'declared', 'node2': 'declared',
                            'node3': 'declared'}
    web = next(w for w in view.hosts[0]['workloads']
               if w['id'] == uuid('web'))
    assert web == {'id': uuid('web'), 'runtime': 'vm', 'class': 'net',
                   'vcpus': 2.0, 'memory_mb': 2048.0, 'group': 'shop'}
    pi = next(w for w in view.hosts[0]['workloads'] if w['id'] == uuid('pi'))
    assert pi['vcpus'] == 1.0
    assert set(view.instances) == {uuid(n) for n in (
        'big', 'web', 'pi', 'locked', 'off', 'left')}


def test_scope_exclusion_pins(watcher):
    from libplacement_watcher import cluster

    cloud = Cloud()
    cloud.node('node1')
    cloud.instance('node1', 'kept').watcher_exclude = True
    view = cluster.build(cloud.model, _reservations({}), {})
    assert view.pinned == {uuid('kept'): 'excluded by the audit scope'}


@pytest.mark.parametrize('specs, default, expected', [
    (None, 'auto', ('unknown', 0.0)),
    ({}, 'idle', ('idle', 0.0)),
    (NET, 'auto', ('net', 0.0)),
    ({'libplacement:workload': 'cpu', 'libplacement:parallelism': '2.5'},
     'auto', ('cpu', 2.5)),
    # Values Nova's validators refuse: logged, defaults used.
    ({'libplacement:workload': 'bogus'}, 'auto', ('unknown', 0.0)),
    ({'libplacement:parallelism': '0'}, 'net', ('net', 0.0)),
    ({'libplacement:parallelism': 'many'}, 'auto', ('unknown', 0.0)),
    ({'libplacement:parallelism': 'inf'}, 'auto', ('unknown', 0.0)),
])
def test_flavor_reservation(watcher, specs, default, expected, caplog):
    from libplacement_watcher import cluster

    assert cluster.flavor_reservation('u1', specs, default) == expected
    bad = specs and ('bogus' in specs.values() or
                     specs.get('libplacement:parallelism') in ('0', 'many',
                                                               'inf'))
    assert ('instance u1: flavor extra spec' in caplog.text) == bool(bad)


def _fetch(agents, hostnames):
    from oslo_config import cfg

    import libplacement_watcher.strategy  # noqa: F401  (registers options)
    from libplacement_watcher import agents as agents_mod

    group = cfg.CONF.libplacement
    cfg.CONF.set_override('agent_url', agents.url_template, 'libplacement')
    cfg.CONF.set_override('agent_timeout', 60.0, 'libplacement')
    try:
        return agents_mod.fetch(lp, group, hostnames)
    finally:
        cfg.CONF.clear_override('agent_url', 'libplacement')
        cfg.CONF.clear_override('agent_timeout', 'libplacement')


def test_measured_snapshots_replace_declared(watcher, agents, caplog):
    from libplacement_watcher import cluster

    caplog.set_level(logging.INFO)
    cloud = Cloud()
    for name in ('node1', 'node2', 'node3'):
        cloud.node(name)
    cloud.instance('node1', 'spark', vcpus=4)
    cloud.instance('node1', 'web', metadata={'libplacement_group': 'shop'})
    cloud.instance('node1', 'new', vcpus=2)      # booted after the snapshot
    cloud.instance('node2', 'db', vcpus=4)
    # node1's agent: spark measured busy, web measured light, and a
    # container Nova does not know; memory in use measured.
    snap = snapshot('node1.example.org', [
        {'id': uuid('spark'), 'runtime': 'vm', 'vcpus': 4, 'demand': 3.9,
         'util': 3.8, 'class': 'cpu', 'confidence': 0.9,
         'memory_mb': 4096},
        {'id': uuid('web'), 'runtime': 'vm', 'vcpus': 2, 'demand': 0.4,
         'net_bps': 4e7, 'class': 'net', 'confidence': 0.95,
         'memory_mb': 2048},
        {'id': 'docker-5f2a', 'runtime': 'container', 'threads': 12,
         'demand': 1.5, 'class': 'cpu', 'confidence': 0.7}],
        demand=6.1)
    snap['memory_used_mb'] = 7000.0
    agents.snapshots['node1'] = snap
    agents.snapshots['node2'] = 'garbage'        # a broken agent
    # node3 has no agent (404).

    snapshots = _fetch(agents, ['node1', 'node2', 'node3'])
    assert set(snapshots) == {'node1'}
    assert 'no agent snapshot for compute node node2' in caplog.text
    assert 'no agent snapshot for compute node node3' in caplog.text

    view = cluster.build(cloud.model, _reservations({}), snapshots)
    assert view.sources == {'node1': 'measured', 'node2': 'declared',
                            'node3': 'declared'}
    assert view.pinned == {'docker-5f2a': 'reported by the agent of node1 '
                           'but not an instance of that node in Watcher\'s '
                           'model'}
    node1 = view.hosts[0]
    assert node1['host'] == 'node1'              # Nova's name for it
    by_id = {w['id']: w for w in node1['workloads']}
    assert by_id[uuid('web')]['group'] == 'shop'  # from the metadata
    assert by_id[uuid('new')] == {'id': uuid('new'), 'runtime': 'vm',
                                  'class': 'unknown', 'vcpus': 2.0,
                                  'memory_mb': 2048.0}
    assert node1['memory_used_mb'] == 7000.0 + 2048.0
    loads = _loads(view)
    # Reserved: spark 4 + web 0.4 + the container's 1.5 measured (its 12
    # threads do not count) + new 2: more than the measured load (6.1).
    assert loads['node1'][1] == pytest.approx(4 + 0.4 + 1.5 + 2)
    assert loads['node1'][2] == pytest.approx(16384 - 9048)
    assert loads['node2'][1] == 4


def test_declared_class_wins_over_a_measured_idle_spell(watcher, agents):
    """A server whose flavor says cpu, measured idle for now, keeps its
    parallelism (as the scheduler counts it); an auto flavor's server counts
    what it was measured to be."""
    from libplacement_watcher import cluster

    cloud = Cloud()
    cloud.node('node1')
    cloud.instance('node1', 'batch', vcpus=4)
    cloud.instance('node1', 'app', vcpus=4)
    agents.snapshots['node1'] = snapshot('node1', [
        {'id': uuid('batch'), 'runtime': 'vm', 'vcpus': 4, 'demand': 0.05,
         'class': 'idle', 'confidence': 0.9},
        {'id': uuid('app'), 'runtime': 'vm', 'vcpus': 4, 'demand': 0.05,
         'class': 'idle', 'confidence': 0.9}], demand=0.1)
    snapshots = _fetch(agents, ['node1'])
    view = cluster.build(
        cloud.model, _reservations({'batch': {'libplacement:workload': 'cpu'}}),
        snapshots)
    by_id = {w['id']: w for w in view.hosts[0]['workloads']}
    assert (by_id[uuid('batch')]['class'], by_id[uuid('batch')]['vcpus']) == ('cpu', 4.0)
    assert by_id[uuid('app')]['class'] == 'idle'
    # batch reserves its 4 threads, app its measured 0.05.
    assert _loads(view)['node1'][1] == pytest.approx(4 + 0.05)


def test_no_agent_url_fetches_nothing(watcher, agents):
    from oslo_config import cfg

    from libplacement_watcher import agents as agents_mod

    agents.snapshots['node1'] = snapshot('node1', [])
    assert agents_mod.fetch(lp, cfg.CONF.libplacement, ['node1']) == {}
