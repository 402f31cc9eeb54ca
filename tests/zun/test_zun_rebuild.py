"""Runtime switches in Zun: a rebuild re-creates the container with the
runtime its class now prefers, keeping its identity (docs/zun.md).

Zun's own flow (stand-in): POST /v1/containers/{id}/rebuild sets the
status Rebuilding and casts to the container's host, whose zun-compute
deletes the Docker container and creates it again from the same Container
object, with LibplacementDockerDriver as its driver.  The host's agent is
served over real HTTP (agentserver).
"""

import logging

import pytest
from zun.common import exception
from zun import objects

from zun_driver import driver as lp_driver

from agentserver import snapshot
from agentserver import workload
import zunhelpers as zh

IMAGE = 'tomcat:9'


def make_cloud(conf, agents, runtimes=zh.RUNC_KATA):
    """One compute host 'a' whose zun-compute runs LibplacementDockerDriver
    and whose agent the test controls; LibplacementFilter in zun-api."""
    conf.config(host='a')
    conf.config(group='scheduler',
                available_filters=['zun.scheduler.filters.all_filters',
                                   'zun_driver.filters.LibplacementFilter'],
                enabled_filters=['RuntimeFilter', 'LibplacementFilter'])
    agents.snapshots = {'a': snapshot('a', 8, 1.0)}
    return zh.Cloud(['a'], runtimes=runtimes,
                    driver_class=lp_driver.LibplacementDockerDriver)


@pytest.fixture
def cloud(conf, placement, agents):
    return make_cloud(conf, agents)


def running(cloud, **create):
    """A container created through Zun and delivered to host a."""
    cnt = cloud.create(image=IMAGE, **create)
    cloud.deliver()
    return objects.Container.get_by_uuid(None, cnt.uuid)


def measured(agents, cnt, klass, confidence=0.95):
    """The agent of host a lists the container's Docker container."""
    agents.snapshots = {'a': snapshot('a', 8, 1.0, [
        workload(cnt.container_id, klass=klass, confidence=confidence,
                 image=IMAGE)])}


def rebuilt(cloud, cnt):
    """Rebuild through the API, deliver it; the container as stored."""
    cloud.rebuild(cnt)
    cloud.deliver()
    return objects.Container.get_by_uuid(None, cnt.uuid)


def docker(cloud):
    return cloud.computes['a'].driver.docker


def test_auto_container_switches_to_the_runtime_of_its_measured_class(
        cloud, agents, caplog):
    cnt = running(cloud, workload=None)
    assert cnt.runtime is None                  # nothing known: Zun's runc
    assert [c['host_config']['runtime'] for c in docker(cloud).values()] \
        == ['runc']
    measured(agents, cnt, 'cpu')
    caplog.set_level(logging.INFO, logger='zun_driver.driver')
    after = rebuilt(cloud, cnt)
    # The same container: uuid, name, host, labels; a new Docker container
    # in Kata.
    assert (after.uuid, after.name, after.host) == (cnt.uuid, cnt.name, 'a')
    assert after.status == 'Created'
    assert after.container_id != cnt.container_id
    assert after.runtime == 'kata-runtime'
    assert after.labels['libplacement.runtime'] == 'kata-runtime'
    assert list(docker(cloud)) == [after.container_id]
    assert docker(cloud)[after.container_id]['host_config']['runtime'] == \
        'kata-runtime'
    assert docker(cloud)[after.container_id]['image'] == IMAGE
    assert ('libplacement: container %s is rebuilt with runtime kata-runtime '
            'instead of (Zun default): class cpu measured on a, confidence '
            '0.95' % cnt.uuid) in caplog.messages


def test_runtime_libplacement_chose_switches_back(cloud, agents):
    cnt = running(cloud, workload=None)
    measured(agents, cnt, 'cpu')
    cnt = rebuilt(cloud, cnt)
    assert cnt.runtime == 'kata-runtime'
    measured(agents, cnt, 'net')
    after = rebuilt(cloud, cnt)
    assert after.runtime == 'runc'
    assert after.labels['libplacement.runtime'] == 'runc'


def test_running_container_is_started_again(cloud, agents):
    cnt = running(cloud, workload=None)
    compute = cloud.computes['a']
    compute.driver.start(None, cnt)
    measured(agents, cnt, 'cpu')
    after = rebuilt(cloud, cnt)
    assert after.status == 'Running'
    assert docker(cloud)[after.container_id]['running']


def test_user_runtime_is_kept(cloud, agents):
    cnt = running(cloud, workload=None, runtime='kata-runtime')
    measured(agents, cnt, 'net')
    after = rebuilt(cloud, cnt)
    assert after.runtime == 'kata-runtime'
    assert 'libplacement.runtime' not in after.labels


def test_labelled_class_wins_over_the_measured_one(cloud, agents):
    cnt = running(cloud, workload='cpu')
    assert cnt.runtime == 'kata-runtime'
    measured(agents, cnt, 'net')
    assert rebuilt(cloud, cnt).runtime == 'kata-runtime'


@pytest.mark.parametrize('agent, why', [
    ('unsure', 'class net measured on a, confidence 0.60 (needs 0.70)'),
    ('silent', 'the agent of a does not list'),
    ('down', 'no fresh snapshot from the agent of a'),
])
def test_runtime_kept_without_a_confident_measurement(cloud, agents, conf,
                                                      caplog, agent, why):
    cnt = running(cloud, workload=None)
    measured(agents, cnt, 'cpu')
    cnt = rebuilt(cloud, cnt)
    assert cnt.runtime == 'kata-runtime'
    if agent == 'unsure':
        measured(agents, cnt, 'net', confidence=0.6)
    elif agent == 'silent':
        agents.snapshots = {'a': snapshot('a', 8, 1.0)}
    else:
        conf.config(group='libplacement', agent_timeout=0.5,
                    agent_url='http://127.0.0.1:9/{host}/v1/snapshot')
    caplog.set_level(logging.INFO, logger='zun_driver.driver')
    after = rebuilt(cloud, cnt)
    assert (after.status, after.runtime) == ('Created', 'kata-runtime')
    [line] = [m for m in caplog.messages if 'is rebuilt' in m]
    assert line.startswith('libplacement: container %s is rebuilt with its '
                           'runtime kata-runtime: ' % cnt.uuid), line
    assert why in line, line


def test_learned_class_of_its_image_when_not_measured_itself(cloud, agents,
                                                             conf):
    """The container itself is not listed (the agent swept after its
    Docker container went), but its image's other instances are."""
    conf.config(group='libplacement', learn_min_instances=2)
    cnt = running(cloud, workload=None)
    agents.snapshots = {'a': snapshot('a', 8, 1.0, [
        workload('other-%d' % i, klass='cpu', image=IMAGE)
        for i in range(2)])}
    assert rebuilt(cloud, cnt).runtime == 'kata-runtime'


def test_host_without_the_preferred_runtime_keeps_its_runtime(
        conf, placement, agents):
    cloud = make_cloud(conf, agents, runtimes=zh.RUNC)
    cnt = running(cloud, workload=None)
    measured(agents, cnt, 'cpu')
    after = rebuilt(cloud, cnt)
    assert (after.status, after.runtime) == ('Created', None)
    assert docker(cloud)[after.container_id]['host_config']['runtime'] == \
        'runc'


def test_rebuild_refused_while_creating(cloud):
    cnt = cloud.create(workload=None, image=IMAGE)      # not delivered
    with pytest.raises(exception.InvalidStateException):
        cloud.rebuild(cnt)
