"""Learned classes in Zun: a container of class auto takes the class its
image was measured to have in its running containers (docs/learn.md).

The agents are served over real HTTP (agentserver); the filter and the
driver feed the process's learner from the snapshots they fetch in the
background, as in zun-api and zun-compute.
"""

import logging

import pytest
import zun.conf
from zun import objects

from zun_driver import agents as lp_agents
from zun_driver import consumers
from zun_driver import driver as lp_driver
from zun_driver import filters
from zun_driver import policy as lp_policy
from zun_driver import request as lp_request

from agentserver import GUARD_S
from agentserver import snapshot
from agentserver import workload
import zunhelpers as zh

NGINX = 'nginx:1.25'
SPARK = 'spark-worker:3.5'
#: The filter's debug lines, where each learned decision is explained.
FILTER_LOGGERS = ('zun_driver.policy', 'zun_driver.filters')


def fleet(agents, hosts=('a', 'b', 'c'), demand=6.5, extra=()):
    """Each host runs one nginx:1.25 container measured net (0.25 CPUs
    per vCPU of 2) and one spark-worker container measured cpu, plus
    ``extra`` workloads on the first host."""
    agents.snapshots = {}
    for i, host in enumerate(hosts):
        ws = [workload('web-%s' % host, demand=0.5, vcpus=2, image=NGINX),
              workload('spark-%s' % host, klass='cpu', confidence=0.95,
                       demand=2.0, vcpus=2, image=SPARK)]
        if i == 0:
            ws += list(extra)
        agents.snapshots[host] = snapshot(host, 8, demand, ws)


def shared():
    return lp_agents.shared(zun.conf.CONF.libplacement)


def learn(hosts):
    """A request over these hosts starts the background refresh that
    feeds the learner; wait for it.  The request's own pick is forgotten
    (as if it had failed), so that it loads no host."""
    filters.LibplacementFilter().filter_all(hosts, zh.container('io', cpu=1),
                                            {})
    assert shared().wait_idle(GUARD_S)
    consumers.PICKS = consumers.Picks()


def auto(image, cpu=4.0, **kw):
    """A container without the workload label: class auto."""
    cnt = zh.container(None, cpu=cpu, **kw)
    cnt.image = image
    cnt.save()
    return cnt


def schedule(hosts, cnt, extra_spec=None):
    return zh.names(filters.LibplacementFilter().filter_all(
        hosts, cnt, extra_spec or {}))


@pytest.fixture
def hosts():
    # Declared as idle; the snapshots say 6.5 of 8 threads are busy.
    return [zh.host('a'), zh.host('b'), zh.host('c'),
            zh.host('runc-only', runtimes=zh.RUNC)]


def test_auto_container_takes_the_learned_class_of_its_image(
        agents, hosts, caplog):
    fleet(agents)
    learn(hosts)
    caplog.set_level(logging.DEBUG, logger='zun_driver')
    cnt = auto(NGINX)
    # Learned net: it adds 0.25 x 4 = 1 CPU (the measured demand per vCPU),
    # fits in 8 - 6.5 on every measured host and runs in runc.
    assert sorted(schedule(hosts, cnt)) == ['a', 'b', 'c', 'runc-only']
    assert cnt.runtime == 'runc'
    assert cnt.labels['libplacement.runtime'] == 'runc'
    lines = [r.getMessage() for r in caplog.records
             if r.name in FILTER_LOGGERS]
    assert any(('container %s (image nginx:1.25, flavor None): class net '
                'learned from 3 running instances of image nginx:1.25, '
                'confidence 0.90' % cnt.uuid) in line for line in lines), lines
    assert any('a pass: demand 6.50 + 1.00 = 7.50' in line
               for line in lines), lines


def test_learned_cpu_class_chooses_kata_and_reserves_full_cpu(agents,
                                                               hosts):
    fleet(agents, demand=2.0)
    learn(hosts)
    cnt = auto(SPARK, cpu=2)
    assert schedule(hosts, cnt) == ['a', 'b', 'c']     # Kata hosts only
    assert cnt.runtime == 'kata-runtime'
    policy = lp_policy.Policy(zun.conf.CONF.libplacement)
    assert policy.container_demand(cnt) == 2.0


def test_unknown_image_stays_unknown(agents, hosts, caplog):
    fleet(agents)
    learn(hosts)
    caplog.set_level(logging.DEBUG, logger='zun_driver.policy')
    cnt = auto('redis:7')
    # Unclassified: its full cpu (4) does not fit in 8 - 6.5 on the
    # measured hosts; Zun's default runtime.
    assert schedule(hosts, cnt) == ['runc-only']
    assert cnt.runtime is None
    assert any('no running instance of image redis:7 measured' in
               r.getMessage() for r in caplog.records)


def test_too_few_instances_are_not_trusted_until_the_option_allows(
        agents, hosts, conf, caplog):
    fleet(agents, hosts=('a', 'b'))
    learn(hosts)
    caplog.set_level(logging.DEBUG, logger='zun_driver.policy')
    cnt = auto(NGINX)
    assert schedule(hosts, cnt) == ['c', 'runc-only']  # c has no agent
    assert cnt.runtime is None
    assert any('not trusted: 2 of 2 running instances of image nginx:1.25 '
               'are net, confidence 0.90 (needs 3 instances, confidence '
               '0.70)' in r.getMessage() for r in caplog.records)

    conf.config(group='libplacement', learn_min_instances=2)
    learn(hosts)            # the learner of these options, fed anew
    cnt = auto(NGINX)
    assert sorted(schedule(hosts, cnt)) == ['a', 'b', 'c', 'runc-only']
    assert cnt.runtime == 'runc'


def test_disagreeing_instances_need_a_lower_confidence(agents, hosts,
                                                       conf):
    # Two instances net, one cpu: confidence 2/3 x 0.9 = 0.6.
    fleet(agents, extra=[workload('web-odd', klass='cpu', image=NGINX)])
    agents.snapshots['a']['workloads'] = [
        w for w in agents.snapshots['a']['workloads'] if w['id'] != 'web-a']
    learn(hosts)
    assert shared().learner.lookup(image=NGINX)['confidence'] == \
        pytest.approx(0.6)
    cnt = auto(NGINX)
    schedule(hosts, cnt)
    assert cnt.runtime is None
    conf.config(group='libplacement', learn_min_confidence=0.55)
    learn(hosts)
    cnt = auto(NGINX)
    schedule(hosts, cnt)
    assert cnt.runtime == 'runc'


def test_image_named_as_docker_names_it(agents, hosts, conf):
    """Zun hands Docker repo:tag, the tag defaulting to latest (and so the
    agent reports it): nginx is nginx:latest, not nginx:1.25."""
    fleet(agents, extra=[workload('latest-%d' % i, klass='idle', demand=0.01,
                                  image='nginx:latest') for i in range(3)])
    learn(hosts)
    cnt = auto('nginx')
    schedule(hosts, cnt)
    assert cnt.runtime == 'runc'
    policy = lp_policy.Policy(zun.conf.CONF.libplacement)
    klass, req, _source = policy.resolve(lp_request.ContainerRequest(cnt))
    assert (klass, req['image']) == ('idle', 'nginx:latest')


@pytest.mark.parametrize('fields, default_registry, expected', [
    ({'image': 'nginx:1.25'}, None, 'nginx:1.25'),
    ({'image': 'nginx'}, None, 'nginx:latest'),
    ({'image': 'nginx@sha256:' + 'ab' * 32}, None, 'nginx:latest'),
    ({'image': 'team/app:2'}, 'reg.example.com',
     'reg.example.com/team/app:2'),
    ({'image': 'localhost:5000/app:2'}, 'reg.example.com',
     'localhost:5000/app:2'),
    ({'image': 'cirros', 'image_driver': 'glance'}, None, 'cirros'),
    ({'image': 'app:2', 'registry': 'private.example.com:5000'},
     'reg.example.com', 'private.example.com:5000/app:2'),
    ({'image': None}, None, None),
    ({'image': 'Bad Name'}, None, None),
])
def test_container_image_as_zun_passes_it_to_docker(conf, fields,
                                                    default_registry,
                                                    expected):
    conf.config(group='docker', default_registry=default_registry)
    fields = dict(fields)
    domain = fields.pop('registry', None)
    if domain is not None:
        registry = objects.Registry(None, name='private', domain=domain)
        registry.create()
        fields['registry_id'] = registry.id
    cnt = zh.container(None)
    for name, value in fields.items():
        setattr(cnt, name, value)
    cnt.save()
    [stored] = objects.Container.list(None, filters={'uuid': cnt.uuid})
    assert lp_request.container_image(stored) == expected


def test_flavor_label_is_learned_too(agents, hosts):
    fleet(agents, extra=[
        workload('db-%d' % i, klass='io', demand=0.4, vcpus=2,
                 image='postgres:%d' % (13 + i), flavor='db.small')
        for i in range(3)])
    learn(hosts)
    cnt = auto('postgres:17', labels={'libplacement.flavor': 'db.small'})
    schedule(hosts, cnt)
    assert cnt.runtime == 'runc'
    policy = lp_policy.Policy(zun.conf.CONF.libplacement)
    assert policy.container_demand(cnt) == pytest.approx(0.2 * 4)


def test_labelled_container_keeps_its_class(agents, hosts):
    fleet(agents, demand=2.0)
    learn(hosts)
    cnt = zh.container('cpu', cpu=2)
    cnt.image = NGINX
    cnt.save()
    schedule(hosts, cnt)
    assert cnt.runtime == 'kata-runtime'


def test_container_in_flight_counts_its_learned_demand(agents, hosts,
                                                       placement, conf):
    """A learned net container that another request placed (Placement
    holds it, zun-compute has not claimed it) counts its learned demand,
    not its full cpu."""
    conf.config(group='scheduler',
                available_filters=['zun.scheduler.filters.all_filters',
                                   'zun_driver.filters.LibplacementFilter'],
                enabled_filters=['RuntimeFilter', 'LibplacementFilter'])
    cloud = zh.Cloud(['a'])
    agents.snapshots = {'a': snapshot('a', 8, 1.0, [
        workload('web-%d' % i, demand=0.5, vcpus=2, image=NGINX)
        for i in range(3)])}
    learn([zh.host('a')])
    # Six learned-net containers of cpu 4 (adding 1 each) fit in 8 - 1.5;
    # unclassified, only one would.
    created = [cloud.create(workload=None, cpu=4, image=NGINX)
               for _ in range(6)]
    assert [c.status for c in created] == ['Creating'] * 6
    assert cloud.scheduled(created) == {'a': 6}
    refused = cloud.create(workload=None, cpu=4, image=NGINX)
    assert refused.status == 'Error'


def test_driver_learns_from_its_own_host(agents, conf):
    """Scheduling bypassed: zun-compute's driver learns from its host's
    agent (agent_url set in its zun.conf)."""
    conf.config(host='a')
    fleet(agents, hosts=('a',),
          extra=[workload('spark-%d' % i, klass='cpu', confidence=0.95,
                          image=SPARK) for i in range(2)])
    drv = lp_driver.LibplacementDockerDriver()
    drv.host_info = {'runtimes': zh.RUNC_KATA}
    agents.hold.clear()                    # the agent answers later
    first = auto(SPARK)
    drv.create(None, first, {'repo': 'spark-worker', 'tag': '3.5'}, [{}], {})
    assert first.runtime is None           # nothing learned yet
    agents.hold.set()
    assert shared().wait_idle(GUARD_S)
    second = auto(SPARK)
    drv.create(None, second, {'repo': 'spark-worker', 'tag': '3.5'}, [{}],
               {})
    assert second.runtime == 'kata-runtime'
    assert drv.created[-1]['host_config']['runtime'] == 'kata-runtime'
