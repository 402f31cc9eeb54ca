"""The strategy libplacement_rebalance in Watcher 9, in-process: loaded
through its entry point, run on compute models built with Watcher's element
classes, and through Watcher's own audit handler and planner (a dry run).

No Nova runs in this process (Nova and Watcher cannot share one), so the
flavors' classes are not readable here: declared instances count with
their vCPUs, and classes come from the agents' measured snapshots, served
over HTTP by tests' agents. tests/nova/test_watcher_execution.py runs the
same strategy against a real Nova.
"""

import time

import libplacement as lp
import pytest

from agentserver import snapshot
from cloudmodel import Cloud, uuid
import watcherdb

STRATEGY = 'libplacement_rebalance'


def _strategy(cloud, **parameters):
    from watcher.decision_engine.loading import default as loading

    strategy = loading.DefaultStrategyLoader().load(STRATEGY)
    # The model the decision engine's collector would hand over.
    strategy._compute_model = cloud.model
    strategy.input_parameters.update(parameters)
    return strategy


def _run(cloud, **parameters):
    strategy = _strategy(cloud, **parameters)
    return strategy, strategy.execute()


def _migrations(solution):
    return [a['input_parameters'] for a in solution.actions
            if a['action_type'] == 'migrate']


def _notes(solution):
    return [a['input_parameters']['message'] for a in solution.actions
            if a['action_type'] == 'nop']


def _indicators(solution):
    return {i.name: i.value for i in solution.efficacy_indicators}


def _global(solution):
    return {i.name: i.value for i in solution.global_efficacy}


def _demand(cloud, reservations=None, snapshots=None):
    """{host: (demand, cap)} of the model as it is now (after the plan's
    moves were applied to it), counted by the core."""
    from libplacement_watcher import cluster

    def declared(instance):
        return cluster.flavor_reservation(instance.uuid, None, 'auto')
    view = cluster.build(cloud.model, reservations or declared,
                         snapshots or {})
    c = lp.Cluster.from_json(view.to_json())
    return {n: (load[1], load[0]) for n, load in zip(c.names(), c.loads())}


@pytest.fixture
def agent_url(agents):
    """[libplacement] agent_url pointing at the test's agents."""
    from oslo_config import cfg

    import libplacement_watcher.strategy  # noqa: F401  (registers options)

    cfg.CONF.set_override('agent_url', agents.url_template, 'libplacement')
    cfg.CONF.set_override('agent_timeout', 60.0, 'libplacement')
    yield agents
    cfg.CONF.clear_override('agent_url', 'libplacement')
    cfg.CONF.clear_override('agent_timeout', 'libplacement')


def test_declared_over_cap_node_relieved_by_live_migrations(watcher, caplog):
    cloud = Cloud()
    for name in ('node1', 'node2', 'node3'):
        cloud.node(name)
    for i in range(6):                       # 12 vCPUs on 8 threads
        cloud.instance('node1', 'a%d' % i)
    for i in range(2):
        cloud.instance('node2', 'b%d' % i)
    before = {u: n.hostname for u, n in (
        (i.uuid, cloud.model.get_node_by_instance_uuid(i.uuid))
        for i in cloud.model.get_all_instances().values())}

    strategy, solution = _run(cloud)

    # Nova is not reachable from this process: logged, vCPUs counted.
    assert 'cannot list the servers in Nova' in caplog.text
    moves = _migrations(solution)
    assert len(moves) == 2                   # 12 - 8 = 4: two of 2 vCPUs
    assert [a['action_type'] for a in solution.actions] == ['migrate'] * 2
    for move in moves:
        assert move['migration_type'] == 'live'
        assert move['source_node'] == 'node1' == before[move['resource_id']]
        assert move['destination_node'] in ('node2', 'node3')
        assert move['resource_name'].startswith('a')
    # The strategy moved them in the model: every node within its cap.
    for host, (demand, cap) in _demand(cloud).items():
        assert demand <= cap, host
    assert _indicators(solution) == {
        'audited_nodes_count': 3, 'hosts_over_cap_before': 1,
        'hosts_over_cap_after': 0, 'instance_migrations_count': 2,
        'runtime_switches_count': 0}
    assert _global(solution) == {'hosts_within_cap_ratio': 100.0,
                                 'relieved_hosts_ratio': 100.0}


def test_within_cap_nothing_moves(watcher):
    cloud = Cloud()
    cloud.node('node1')
    cloud.node('node2')
    for i in range(4):                       # 8 vCPUs on 8 threads: at cap
        cloud.instance('node1', 'f%d' % i)
    _, solution = _run(cloud)
    assert solution.actions == []
    assert _indicators(solution)['hosts_over_cap_before'] == 0
    assert _global(solution) == {'hosts_within_cap_ratio': 100.0}


def test_no_nodes(watcher):
    strategy, solution = _run(Cloud())
    assert solution.actions == []
    assert _indicators(solution) == {
        'audited_nodes_count': 0, 'hosts_over_cap_before': 0,
        'hosts_over_cap_after': 0, 'instance_migrations_count': 0,
        'runtime_switches_count': 0}
    assert _global(solution) == {'hosts_within_cap_ratio': 100.0}


def test_measured_groups_pins_and_limits(watcher, agent_url):
    cloud = Cloud()
    for name in ('node1', 'node2', 'node3'):
        cloud.node(name)
    workloads = {'node1': [], 'node2': []}
    reserved = {}

    def add(host, label, klass, vcpus, demand, group=None, **kw):
        cloud.instance(host, label, vcpus=vcpus,
                       metadata={'libplacement_group': group} if group
                       else None, **kw)
        w = {'id': uuid(label), 'runtime': 'vm', 'vcpus': vcpus,
             'demand': demand, 'util': demand * 0.95, 'class': klass,
             'confidence': 0.9, 'memory_mb': 2048}
        workloads[host].append(w)
        reserved[label] = demand

    # node1: a cpu group of three workers (spread), a net shop of three
    # (together), a batch job and a locked instance: 6 + 3 + 4 + 2 = 15.
    for i in range(3):
        add('node1', 'spark%d' % i, 'cpu', 2, 2.0, group='spark')
        add('node1', 'shop%d' % i, 'net', 2, 1.0, group='shop')
    add('node1', 'batch', 'cpu', 4, 4.0)
    add('node1', 'admin', 'cpu', 2, 2.0, locked=True)
    # node2: a fourth worker and a database: 6. node3: no agent, empty.
    add('node2', 'spark3', 'cpu', 2, 2.0, group='spark')
    add('node2', 'db', 'io', 4, 4.0)
    for host, ws in workloads.items():
        agent_url.snapshots[host] = snapshot(host, ws)

    strategy, solution = _run(cloud)

    moves = _migrations(solution)
    moved = {m['resource_name'] for m in moves}
    # 7 threads too many; no two units free them (the batch job and a
    # worker free 6, the shop is three migrations): three moves.
    assert len(moves) == 3, moves
    assert 'admin' not in moved              # locked
    shop = {'shop%d' % i for i in range(3)}
    assert not (moved & shop) or shop <= moved
    hosts = cloud.hosts_of(['shop%d' % i for i in range(3)] +
                           ['spark%d' % i for i in range(4)])
    assert len({hosts['shop%d' % i] for i in range(3)}) == 1
    workers = [hosts['spark%d' % i] for i in range(4)]
    for m in moves:
        if m['resource_name'].startswith('spark'):
            # Spread: fewer workers there than node1 had (3).
            assert workers.count(m['destination_node']) < 3
    # Where the instances are now in the model, with what they reserve.
    after = dict.fromkeys(('node1', 'node2', 'node3'), 0.0)
    for label, host in cloud.hosts_of(sorted(reserved)).items():
        after[host] += reserved[label]
    assert max(after.values()) <= 8.0, after
    assert _indicators(solution)['hosts_over_cap_after'] == 0
    assert strategy._view.sources == {'node1': 'measured',
                                      'node2': 'measured',
                                      'node3': 'declared'}

    # max_moves bounds the plan; the node that stays over says why.
    agent_url.snapshots.clear()
    cloud2 = Cloud()
    for name in ('node1', 'node2'):
        cloud2.node(name)
    for i in range(7):
        cloud2.instance('node1', 'm%d' % i)  # 14 on 8
    _, limited = _run(cloud2, max_moves=1)
    assert len(_migrations(limited)) == 1
    notes = _notes(limited)
    assert len(notes) == 1 and notes[0].startswith(
        'libplacement: node1 stays over its cap: demand 12.00 > cap 8.00')
    assert _indicators(limited)['hosts_over_cap_after'] == 1
    assert _global(limited)['relieved_hosts_ratio'] == 0.0


def test_cooldown_from_watchers_history(watcher):
    cloud = Cloud()
    cloud.node('node1')
    cloud.node('node2')
    for i in range(5):                       # 10 on 8: one must go
        cloud.instance('node1', 'c%d' % i)
    plan = watcherdb.action_plan(watcher)
    for i in range(4):                       # moved by Watcher just now
        watcherdb.action(watcher, plan, 'migrate', uuid('c%d' % i),
                         'SUCCEEDED')
    _, solution = _run(cloud)
    assert [m['resource_name'] for m in _migrations(solution)] == ['c4']

    # All five in cool-down: nothing moves, and the plan says why.
    watcherdb.action(watcher, plan, 'migrate', uuid('c4'), 'SUCCEEDED')
    cloud = Cloud()
    cloud.node('node1')
    cloud.node('node2')
    for i in range(5):
        cloud.instance('node1', 'c%d' % i)
    _, solution = _run(cloud)
    assert _migrations(solution) == []
    (note,) = _notes(solution)
    assert 'node1 stays over its cap' in note and 'cool-down' in note
    # A cool-down of 0 s lets them move again.
    _, solution = _run(cloud, cooldown=0)
    assert len(_migrations(solution)) == 1


def test_pinned_instances_stay_and_are_named(watcher):
    cloud = Cloud()
    cloud.node('node1')
    cloud.node('node2')
    for i in range(4):
        cloud.instance('node1', 'p%d' % i, locked=True)
    cloud.instance('node1', 'off', state='stopped')
    cloud.instance('node1', 'mover')
    _, solution = _run(cloud)                # 12 on 8: only one may move
    assert [m['resource_name'] for m in _migrations(solution)] == ['mover']
    (note,) = _notes(solution)
    assert note.startswith('libplacement: node1 stays over its cap: demand '
                           '10.00 > cap 8.00')
    assert 'of its remaining workloads 0 are in cool-down and 5 are pinned' in note
    assert 'pinned: locked, not active or excluded by the audit scope' in note


def test_switch_recommendation_without_nova_is_explained(watcher,
                                                         agent_url):
    cloud = Cloud()
    cloud.node('node1')
    cloud.instance('node1', 'tomcat')
    now = time.time()
    agent_url.snapshots['node1'] = snapshot('node1', [
        {'id': uuid('tomcat'), 'runtime': 'vm', 'vcpus': 2, 'demand': 0.4,
         'net_bps': 4e7, 'class': 'net', 'confidence': 0.95,
         'class_since': now - 7200}])
    strategy, solution = _run(cloud)
    assert _migrations(solution) == []
    (note,) = _notes(solution)
    assert note.startswith('libplacement: %s (tomcat) is class net '
                           '(confidence 0.95 for ' % uuid('tomcat'))
    assert note.endswith('and would run better in a container than in a '
                         'vm; no switch: Nova cannot be read')
    assert _indicators(solution)['runtime_switches_count'] == 0
    # Switches turned off by the audit: said so.
    _, solution = _run(cloud, runtime_switches=False)
    (note,) = _notes(solution)
    assert note.endswith('no switch: runtime switches are off (audit '
                         'parameter runtime_switches)')
    # A class held for less than switch_min_age: no recommendation.
    _, solution = _run(cloud, switch_min_age=3 * 3600)
    assert solution.actions == []


def test_dry_run_through_watchers_audit_handler(watcher):
    """An audit as watcher-decision-engine runs it, without the applier:
    the action plan is RECOMMENDED with PENDING actions and nothing moves.
    """
    from oslo_utils import uuidutils
    from watcher.decision_engine.audit import oneshot
    from watcher.decision_engine.model.collector import manager
    from watcher import objects

    cloud = Cloud()
    for name in ('node1', 'node2'):
        cloud.node(name)
    for i in range(5):
        cloud.instance('node1', 'd%d' % i, vcpus=2)   # 10 on 8
    # The collector holds the model it last built (from Nova's API and
    # notifications in a deployment); the audit works on a copy of it.
    collector = manager.CollectorManager().get_cluster_model_collector(
        'compute')
    collector.get_audit_scope_handler([])
    collector.cluster_data_model = cloud.model
    strategy = objects.Strategy.get_by_name(watcher, STRATEGY)
    audit = objects.Audit(
        watcher, uuid=uuidutils.generate_uuid(),
        name='dry-run-' + uuidutils.generate_uuid(), audit_type='ONESHOT',
        state='PENDING', goal_id=strategy.goal_id, strategy_id=strategy.id,
        parameters={'max_moves': 4}, scope=[], auto_trigger=False)
    audit.create()

    oneshot.OneShotAuditHandler().execute(audit, watcher)

    audit = objects.Audit.get_by_uuid(watcher, audit.uuid)
    assert audit.state == 'SUCCEEDED'
    (plan,) = objects.ActionPlan.list(watcher,
                                      filters={'audit_uuid': audit.uuid})
    assert plan.state == 'RECOMMENDED'
    assert plan.strategy_id == strategy.id
    actions = objects.Action.list(watcher,
                                  filters={'action_plan_uuid': plan.uuid})
    assert [(a.action_type, a.state) for a in actions] == \
        [('migrate', 'PENDING')]
    p = actions[0].input_parameters
    assert p['source_node'] == 'node1' and p['destination_node'] == 'node2'
    assert p['migration_type'] == 'live'
    indicators = {i.name: i.value for i in objects.EfficacyIndicator.list(
        watcher, filters={'action_plan_uuid': plan.uuid})}
    assert indicators == {'audited_nodes_count': 2,
                          'hosts_over_cap_before': 1,
                          'hosts_over_cap_after': 0,
                          'instance_migrations_count': 1,
                          'runtime_switches_count': 0}
    assert {g['name']: g['value'] for g in plan.global_efficacy} == {
        'hosts_within_cap_ratio': 100.0, 'relieved_hosts_ratio': 100.0}
    # Nothing was executed: the collector's model is as it was.
    assert cloud.hosts_of(['d%d' % i for i in range(5)]) == \
        {'d%d' % i: 'node1' for i in range(5)}


def test_bad_policy_in_watcher_conf_fails_the_audit(watcher):
    from oslo_config import cfg

    cloud = Cloud()
    cloud.node('node1')
    cfg.CONF.set_override('policy', {'no_such_parameter': '1'},
                          'libplacement')
    try:
        with pytest.raises(ValueError) as e:
            _run(cloud)
    finally:
        cfg.CONF.clear_override('policy', 'libplacement')
    assert '[libplacement] policy' in str(e.value)
    assert 'no_such_parameter' in str(e.value)
