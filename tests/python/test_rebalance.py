"""Context.rebalance, Context.resolve_learned and Learner of the extension."""

import json
import os

import pytest

import libplacement as lp

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = 1767225600
LOOPS = int(os.environ.get('LP_TEST_LOOPS', '200'))


def overloaded():
    with open(os.path.join(TOP, 'examples', 'testbed-overloaded.json')) as f:
        return lp.Cluster.from_json(f.read(), origin='testbed-overloaded.json')


def snapshot(host, workloads, threads=8):
    return {'schema': 'libplacement/snapshot/v1', 'host': host, 'time': NOW,
            'cpu': {'sockets': 1, 'cores': threads // 2, 'threads': threads},
            'runtimes': ['container', 'unikernel', 'vm'],
            'workloads': workloads}


def web(i, image='3f2a9c', demand=0.4):
    return {'id': 'web-%d' % i, 'runtime': 'container', 'vcpus': 2,
            'demand': demand, 'class': 'net', 'confidence': 0.9,
            'image': image, 'flavor': 'm1.web'}


def test_rebalance_moves_the_overloaded_host_back_within_its_cap():
    plan = lp.Context().rebalance(overloaded(), now=NOW)
    assert [(m['workload'], m['source'], m['destination'])
            for m in plan['moves']] == [('spark-1', 'pc1', 'pc4')]
    assert plan['moves'][0]['group'] == 'spark-pi'
    assert plan['moves'][0]['reserved'] == 2.0
    assert 'to pc4: demand 2.00 + 2.00 = 4.00 <= cap 8.00' in \
        plan['moves'][0]['explain']
    assert (plan['hosts_over_before'], plan['hosts_over_after']) == (1, 0)
    assert plan['optimal'] is True
    hosts = {h['host']: h for h in plan['hosts']}
    assert hosts['pc1']['acted_on'] and hosts['pc1']['demand_after'] == 8
    assert hosts['pc4']['demand_after'] == 4 and hosts['pc4']['why'] is None
    assert [(s['workload'], s['from'], s['to']) for s in plan['switches']] \
        == [('tomcat-1', 'vm', 'container')]


def test_history_as_mapping_or_pairs_keeps_workloads_in_cool_down():
    ctx = lp.Context()
    recent = {'spark-%d' % i: NOW - 60 for i in range(1, 6)}
    for history in (recent, list(recent.items())):
        plan = ctx.rebalance(overloaded(), now=NOW, history=history)
        assert plan['moves'] == []
        assert plan['hosts_over_after'] == 1
        why = [h['why'] for h in plan['hosts'] if h['why']]
        assert len(why) == 1 and "5 are in cool-down" in why[0]
    plan = ctx.rebalance(overloaded(), now=NOW, history=recent, cooldown_s=30)
    assert len(plan['moves']) == 1


def test_pinned_workloads_stay_and_the_host_says_so():
    ctx = lp.Context()
    pinned = ['spark-%d' % i for i in range(1, 6)]
    plan = ctx.rebalance(overloaded(), now=NOW, pinned=pinned)
    assert plan['moves'] == [] and plan['hosts_over_after'] == 1
    why = [h['why'] for h in plan['hosts'] if h['why']][0]
    assert 'of its remaining workloads 0 are in cool-down and 5 are pinned' in why
    plan = ctx.rebalance(overloaded(), now=NOW, pinned=pinned[:4])
    assert [m['workload'] for m in plan['moves']] == ['spark-5']
    with pytest.raises(TypeError, match='pinned must be a sequence'):
        ctx.rebalance(overloaded(), pinned=5)
    with pytest.raises(TypeError, match=r'pinned\[1\]'):
        ctx.rebalance(overloaded(), pinned=['spark-1', 7])


def test_max_moves_and_margin_are_obeyed():
    ctx = lp.Context()
    cluster = lp.Cluster.from_json(json.dumps({'hosts': [
        snapshot('a', [{'id': 'c%d' % i, 'class': 'cpu', 'vcpus': 2,
                        'demand': 2.0, 'confidence': 0.9}
                       for i in range(6)]),
        snapshot('b', [])]}))
    assert len(ctx.rebalance(cluster, now=NOW)['moves']) == 2
    plan = ctx.rebalance(cluster, now=NOW, max_moves=1)
    assert len(plan['moves']) == 1 and 'max_moves (1) reached' in \
        plan['hosts'][0]['why']
    assert ctx.rebalance(cluster, now=NOW, overload_margin=0.6)['moves'] == []


def test_bad_arguments_name_what_is_wrong():
    ctx = lp.Context()
    cluster = overloaded()
    with pytest.raises(ValueError, match=r'overload_margin \(2\) must be'):
        ctx.rebalance(cluster, overload_margin=2)
    with pytest.raises(TypeError, match=r"history\['x'\] \(its unix time\)"):
        ctx.rebalance(cluster, history={'x': 'yesterday'})
    with pytest.raises(TypeError, match='history must be a dict'):
        ctx.rebalance(cluster, history=7)
    with pytest.raises(TypeError):
        ctx.rebalance({'hosts': []})
    with pytest.raises(TypeError):
        ctx.rebalance(cluster, NOW)  # now is keyword-only


def test_learner_teaches_auto_requests_the_class_of_their_image():
    cluster = lp.Cluster.from_json(json.dumps({'hosts': [
        snapshot('pc1', [web(i) for i in range(3)]),
        snapshot('pc2', [web(i + 3) for i in range(2)])]}))
    learner = lp.Learner()
    learner.observe(cluster, now=NOW)
    learner.observe(cluster, now=NOW + 10)  # the same instances again
    found = learner.lookup(image='3f2a9c', now=NOW + 10)
    assert found == {
        'class': 'net', 'confidence': pytest.approx(0.9),
        'demand_per_vcpu': pytest.approx(0.2), 'instances': 5, 'agreeing': 5,
        'source': 'class net learned from 5 running instances of image '
                  '3f2a9c, confidence 0.90',
        'trusted': True}
    ctx = lp.Context()
    request = {'id': 'new-web', 'vcpus': 2, 'workload': 'auto',
               'image': '3f2a9c'}
    klass, added, source = ctx.resolve_learned(request, learner, now=NOW)
    assert (klass, added) == ('net', pytest.approx(0.4))
    assert source.startswith('class net learned from 5 running instances')
    assert ctx.resolve(request) == ('unknown', 2.0)
    request['image'] = 'never-seen'
    klass, added, source = ctx.resolve_learned(request, learner, now=NOW)
    assert (klass, added) == ('unknown', 2.0)
    assert 'no running instance of image never-seen measured' in source


def test_learner_needs_enough_agreeing_instances():
    cluster = lp.Cluster.from_json(json.dumps({'hosts': [
        snapshot('pc1', [web(0), web(1)])]}))
    learner = lp.Learner(min_instances=3)
    learner.observe(cluster, now=NOW)
    found = learner.lookup(image='3f2a9c', now=NOW)
    assert found['trusted'] is False and found['class'] == 'unknown'
    assert 'needs 3 instances' in found['source']
    learner = lp.Learner(min_instances=2)
    learner.observe(cluster, now=NOW)
    assert learner.lookup(image='3f2a9c', now=NOW)['trusted'] is True
    # Forgotten once not seen for forget_s.
    learner = lp.Learner(min_instances=2, forget_s=60)
    learner.observe(cluster, now=NOW)
    assert learner.lookup(image='3f2a9c', now=NOW + 61)['instances'] == 0


def test_learner_arguments():
    with pytest.raises(ValueError, match=r'min_confidence \(3\)'):
        lp.Learner(min_confidence=3)
    with pytest.raises(ValueError, match='min_instances'):
        lp.Learner(min_instances=0)
    with pytest.raises(TypeError):
        lp.Learner().observe('not a cluster')
    with pytest.raises(TypeError):
        lp.Context().resolve_learned({'vcpus': 1}, 'not a learner')


def test_repeated_calls_do_not_leak():
    """Under check-python-leaks (ASan, PYTHONMALLOC=malloc) LSan judges."""
    ctx = lp.Context()
    cluster = overloaded()
    learner = lp.Learner()
    for _ in range(LOOPS):
        ctx.rebalance(cluster, now=NOW, history={'spark-1': NOW - 10})
        learner.observe(cluster, now=NOW)
        learner.lookup(image='spark-worker', flavor='m1.spark', now=NOW)
        ctx.resolve_learned({'vcpus': 2, 'image': 'spark-worker'}, learner,
                            now=NOW)
        with pytest.raises(ValueError):
            ctx.rebalance(cluster, overload_margin=-1)
