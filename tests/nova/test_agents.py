"""Measured demand from agent snapshots in a real in-process Nova.

The agents are played by snapshot_server.py over real HTTP on loopback
(agent_fixture). Their snapshots hold what real hosts run: thread pools of
many threads and little CPU, the instances Nova placed there (workload id =
instance UUID, measured nearly idle right after boot), never a group.
"""

import collections
import time

import fixtures
import libplacement

import nova.conf

from nova_filter import agents
from nova_filter import engine

import agent_fixture
from agent_fixture import snapshot, thread_pool, vm, workload
from test_functional import PluginTestBase

CONF = nova.conf.CONF
TTL = 2


class AgentTestBase(PluginTestBase):
    """Every host has an agent (served from self.agents)."""

    HOSTS = ('host1', 'host2', 'host3')

    def setUp(self):
        self.agents = self.useFixture(agent_fixture.AgentFarm())
        self.LIBPLACEMENT = dict(
            PluginTestBase.LIBPLACEMENT,
            agent_url=self.agents.url_template, agent_ttl=TTL,
            agent_clock_skew=0.5)
        super().setUp()

    def _snapshots(self):
        return engine.engine().snapshots

    def _serve_measured(self, extra=None):
        """Every host's agent reports the instances Nova put there (as
        nearly idle VMs) and a web server's thread pool; wait until the
        scheduler holds these snapshots."""
        since = time.time()
        by_host = collections.defaultdict(list)
        for s in self.api.get_servers(detail=True):
            if s['status'] == 'ACTIVE':
                by_host[s['OS-EXT-SRV-ATTR:host']].append(s['id'])
        for host in self.HOSTS:
            wl = [thread_pool('tomcat-' + host)]
            wl += [vm(uuid) for uuid in by_host[host]]
            wl += (extra or {}).get(host, [])
            self.agents.serve(host, snapshot(host, wl))
        agent_fixture.refresh(self._snapshots(), self.HOSTS,
                              agent_fixture.held_since(self.HOSTS, since))

    def _placed(self):
        servers = self.api.get_servers(detail=True)
        return collections.Counter(s['OS-EXT-SRV-ATTR:host'] for s in servers
                                   if s['status'] == 'ACTIVE')


class TestMeasuredHosts(AgentTestBase):

    def test_net_group_stays_together_once_measured(self):
        # The agents list the group's members (by instance UUID) but know
        # nothing of groups: membership comes from the scheduler.
        web = self._create_flavor(
            name='web2', vcpu=2, memory_mb=512, disk=1, ephemeral=0,
            extra_spec={'libplacement:workload': 'net'})
        for i in range(4):
            self._serve_measured()
            self._boot(web, name='web%d' % i,
                       hints={'libplacement_group': 'shop'})
        placed = self._placed()
        self.assertEqual([4], list(placed.values()), placed)

    def test_cpu_cap_holds_with_idle_measured_instances(self):
        # Just-booted cpu servers are measured nearly idle; each still
        # reserves its 2 threads: 4 per 8-thread host, as without agents.
        for i in range(12):
            self._serve_measured()
            self._boot(self.cpu_flavor, name='w%d' % i)
        self.assertEqual({'host1': 4, 'host2': 4, 'host3': 4},
                         dict(self._placed()))
        self._serve_measured()
        server = self._boot(self.cpu_flavor, name='w12', expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])

    def test_service_with_many_threads_and_one_cpu_takes_work(self):
        # 46 threads busy for about one CPU, classified as the core does:
        # it keeps 1 of 8 threads busy, not 46, so 3 two-vCPU cpu servers
        # fit next to it and a 4th does not.
        metrics = {'threads': 46, 'demand': 1.0, 'util': 0.95,
                   'wait_ratio': 0.05}
        klass = libplacement.Context().classify(metrics)[0]
        service = workload('billing', 1.0, 46, klass, util=0.95)
        only_host1 = {h: [] for h in self.HOSTS}
        for host in ('host2', 'host3'):
            # The other hosts are full of work Nova does not know about.
            only_host1[host] = [workload('batch-' + host, 8.0, 8, 'cpu')]
        only_host1['host1'] = [service]
        for i in range(3):
            self._serve_measured(only_host1)
            server = self._boot(self.cpu_flavor, name='w%d' % i)
            self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])
        self._serve_measured(only_host1)
        self._boot(self.cpu_flavor, name='w3', expected='ERROR')

    def test_newer_agent_fields_are_ignored(self):
        # An agent newer than the scheduler adds fields; the scheduler uses
        # what it knows of the snapshot.
        since = time.time()
        for host in self.HOSTS:
            self.agents.serve(host, snapshot(
                host, [thread_pool('tomcat-' + host)],
                extra={'pressure': {'cpu': 0.1}}))
        agent_fixture.refresh(self._snapshots(), self.HOSTS,
                              agent_fixture.held_since(self.HOSTS, since))
        server = self._boot(self.cpu_flavor, name='w0')
        self.assertEqual('ACTIVE', server['status'])


class TestStaleAgents(AgentTestBase):
    """host1 is busy with 7 threads of work Nova does not know; host2 and
    host3 have no agent (404)."""

    HOSTS = ('host1', 'host2')

    def _busy_host1(self, when=None):
        self.agents.serve('host1', snapshot(
            'host1', [workload('batch', 7.0, 7, 'cpu')], when=when))

    def _fill_host2(self):
        for i in range(4):
            server = self._boot(self.cpu_flavor, name='w%d' % i)
            self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])

    def _measured_then(self, break_agent):
        since = time.time()
        self._busy_host1()
        snaps = self._snapshots()
        agent_fixture.refresh(snaps, self.HOSTS,
                              agent_fixture.held_since(['host1'], since))
        # Measured: host1 (7 busy) cannot take 2 more threads.
        self._fill_host2()
        break_agent()
        agent_fixture.refresh(
            snaps, self.HOSTS,
            lambda s: s.get('host1', time.time()) is None)
        # Declared: host1 runs nothing Nova placed, so it takes the next.
        server = self._boot(self.cpu_flavor, name='w4')
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])

    def test_snapshot_older_than_ttl_by_its_time_is_not_used(self):
        # The agent still answers 200, but its sweeps stopped long ago.
        self._measured_then(
            lambda: self._busy_host1(when=time.time() - 10 * TTL))
        self.assertIn('no fresh agent snapshot for host host1 (host1: snapshot '
                      'is', self.stdlog.logger.output)
        self.assertIn('old by its time (ttl %d s' % TTL, self.stdlog.logger.output)

    def test_agent_answering_503_falls_back_when_snapshot_ages(self):
        self._measured_then(lambda: self.agents.answer('host1', 503))
        self.assertIn('HTTP status 503', self.stdlog.logger.output)

    def test_future_time_is_refused(self):
        self._busy_host1(when=time.time() + 3600)
        agent_fixture.refresh(
            self._snapshots(), self.HOSTS,
            lambda s: 'in the future by its time' in self.stdlog.logger.output)
        self.assertIsNone(self._snapshots().get('host1', time.time()))


class FakeConf(object):
    """The [libplacement] agent options AgentSnapshots reads."""

    def __init__(self, url, ttl, skew):
        self.agent_url = url
        self.agent_ttl = ttl
        self.agent_clock_skew = skew
        self.agent_timeout = 5.0
        self.agent_token = None
        self.agent_ca_file = None


class TestAgentSnapshotsAlone(PluginTestBase):
    """AgentSnapshots against real HTTP agents, requests played by hand
    (the eventlet hub of the in-process Nova runs the refresh)."""

    HOSTS = ()

    def setUp(self):
        super().setUp()
        self.agents = self.useFixture(agent_fixture.AgentFarm())
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_filter.agents', format='%(levelname)s %(message)s'))

    def _snapshots(self, ttl=60, skew=10.0):
        snaps = agents.AgentSnapshots(
            libplacement, FakeConf(self.agents.url_template, ttl, skew))
        self.addCleanup(snaps.close)
        return snaps

    def test_partial_refresh_keeps_other_hosts(self):
        for host in ('c1', 'c2', 'c3'):
            self.agents.serve(host, snapshot(host, [thread_pool('web')]))
        snaps = self._snapshots()
        agent_fixture.refresh(snaps, ['c1', 'c2'],
                              agent_fixture.held_since(['c1', 'c2'], 0))
        # A request that considers only c3 (another cell, an availability
        # zone) fetches c3 and keeps c1 and c2.
        agent_fixture.refresh(snaps, ['c3'],
                              agent_fixture.held_since(['c3'], 0))
        now = time.time()
        for host in ('c1', 'c2', 'c3'):
            self.assertIsNotNone(snaps.get(host, now), host)

    def test_failed_fetch_keeps_the_held_snapshot_until_it_ages(self):
        since = time.time()
        self.agents.serve('c1', snapshot('c1', [thread_pool('web')],
                                         when=since))
        # A large clock-skew allowance keeps this test independent of the
        # machine's speed: the snapshot is usable until since + 2 + 600.
        snaps = self._snapshots(ttl=2, skew=600.0)
        agent_fixture.refresh(snaps, ['c1'],
                              agent_fixture.held_since(['c1'], since))
        held = snaps.get('c1', time.time())
        self.agents.answer('c1', 503)
        # Due 1 s after its time: the loop fetches it again, gets 503, and
        # keeps the snapshot until it is agent_ttl + agent_clock_skew old.
        agent_fixture.refresh(
            snaps, ['c1'],
            lambda s: 'HTTP status 503' in s.last_errors.get('c1', ''))
        self.assertIs(held, snaps.get('c1', int(since) + 2 + 600))
        self.assertIsNone(snaps.get('c1', int(since) + 2 + 600.5))

    def _wait_refreshed(self, snaps, deadline=120.0):
        snaps.start_refresh()
        end = time.monotonic() + deadline
        while snaps._running or snaps._pending:
            self.assertLess(time.monotonic(), end, 'refresh hung')
            time.sleep(0.05)

    def test_unreachable_agents_are_logged_once_per_host_then_summarised(self):
        hosts = ['down%02d' % i for i in range(15)]
        snaps = self._snapshots(ttl=1)
        for _ in range(3):
            now = time.time()
            for host in hosts:
                snaps.get(host, now)
            self._wait_refreshed(snaps)
            time.sleep(0.3)  # past the retry interval (ttl / 4)
        lines = self.log.output.splitlines()
        per_host = [line for line in lines
                    if 'no fresh agent snapshot for host' in line]
        self.assertEqual(agents.LOG_HOSTS, len(per_host), lines)
        self.assertEqual(agents.LOG_HOSTS, len(set(per_host)))
        summary = [line for line in lines
                   if 'more hosts have no fresh' in line]
        self.assertEqual(1, len(summary), lines)
        self.assertIn('%d more hosts' % (15 - agents.LOG_HOSTS), summary[0])
