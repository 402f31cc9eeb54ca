"""HostLoads: one host's numbers from Zun, Placement and an agent."""

import time

from zun_driver import agents
from zun_driver import consumers
from zun_driver import loads

import zunhelpers as zh


class Snapshots(object):
    """AgentSnapshots as the filter reads it: fresh snapshots by host."""

    def __init__(self, **snaps):
        self.snaps = snaps

    def get(self, host):
        return self.snaps.get(host)


def snap(demand, groups):
    return agents.Snapshot(time.time(), time.monotonic(), 8.0, demand,
                           groups, {wid: ('net', 0.9) for wid in groups})


def member(host=None, docker_id=None, group='web', cpu=2.0):
    cnt = zh.container('net', cpu=cpu,
                       labels={'libplacement.group': group} if group else {})
    cnt.host = host
    cnt.container_id = docker_id
    return consumers.Consumer(cnt.uuid, 2.0, 512.0, cnt)


def load(host, consumers_, snapshots=None, group='web'):
    return loads.HostLoads(snapshots, {host.hostname: consumers_},
                           lambda c: c.cpu).loads([host], group, [7])[0]


def test_declared_counts_what_the_node_has_not_reported():
    host = zh.host('a', cpu_used=2.0, mem_used=512)
    claimed = member(host='a')
    in_flight = member()
    nova_server = consumers.Consumer('9f1c...', 4.0, 2048.0)
    threads, demand, memory, _mask, members = load(
        host, [claimed, in_flight, nova_server])
    assert (threads, demand) == (8.0, 2.0 + 2.0 + 4.0)
    assert memory == 32768 - 512 - 512 - 2048
    assert members == 2


def test_measured_container_counts_once_by_its_docker_id():
    """The docker collector lists a container by its Docker id, without a
    group; Zun's label makes it a member, counted once, and its demand is
    in the snapshot's already."""
    host = zh.host('a', cpu_used=4.0)
    running = member(host='a', docker_id='d0c4e1' * 10)
    in_flight = member()
    snapshots = Snapshots(a=snap(3.0, {'d0c4e1' * 10: None,
                                       'other': 'web'}))
    threads, demand, _memory, _mask, members = load(host, [running,
                                                           in_flight],
                                                    snapshots)
    assert demand == 3.0 + 2.0            # snapshot + the one in flight
    assert members == 3                   # running, in flight, other


def test_measured_member_listed_with_its_group_counts_once():
    host = zh.host('a')
    running = member(host='a', docker_id='abc')
    snapshots = Snapshots(a=snap(1.0, {'abc': 'web', running.uuid: 'web'}))
    assert load(host, [running], snapshots)[4] == 1


def test_members_of_other_groups_do_not_count():
    host = zh.host('a')
    assert load(host, [member(group='db'), member(group=None)])[4] == 0
