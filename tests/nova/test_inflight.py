"""Instances in flight on hosts with agents (in-process Nova).

An instance this scheduler placed that its host's agent does not list yet
(still building) is a workload of the host: its reservation joins the sum
of the host's reservations, and the host's demand is the larger of that
sum and the agent's measured load (docs/model.md), never the sum plus the
measured load.
"""

import time

import eventlet

import agent_fixture
from agent_fixture import snapshot
from test_burst import BurstTestBase

# What each agent measures besides its host's idle workload (0.02): host
# daemons, half a thread, attributed to no workload.  Four in-flight servers
# reserve 8 threads; joining the larger of load and reservations, a host
# takes all 4 (8.02 <= cap 8 + cap_slack 0.1); added to the measured load
# instead, it would take 3 (0.5 + 8 > 8.1).
BACKGROUND = 0.5


class TestBurstOnMeasuredHosts(BurstTestBase):
    """17 creates at once on four 8-thread hosts whose agents list an idle
    workload and measure half a thread of background load."""

    def setUp(self):
        self.agents = self.useFixture(agent_fixture.AgentFarm())
        self.LIBPLACEMENT = dict(
            BurstTestBase.LIBPLACEMENT, agent_url=self.agents.url_template,
            # The snapshots stay usable for the whole burst.
            agent_ttl=600)
        super().setUp()

    def test_in_flight_servers_fill_hosts_to_the_cap(self):
        since = time.time()
        for host in self.HOSTS:
            idle = agent_fixture.workload('/system.slice/cron.service', 0.02,
                                          1, 'idle')
            self.agents.serve(host, snapshot(host, [idle],
                                             load_demand=BACKGROUND))
        from nova_filter import engine
        agent_fixture.refresh(engine.engine().snapshots, self.HOSTS,
                              agent_fixture.held_since(self.HOSTS, since))
        per_host, errors = self._burst(self.cpu_flavor)
        self.assertEqual({h: 4 for h in self.HOSTS}, dict(per_host))
        self._assert_cap(per_host, errors)


class TestDeletedBeforeListed(BurstTestBase):
    """Servers deleted before any request saw their hosts list them stop
    counting once the background check (scheduled_check) finds them gone
    in Nova's database, not scheduled_hold (300 s) later."""

    LIBPLACEMENT = dict(BurstTestBase.LIBPLACEMENT, scheduled_check=0.5)

    def test_deleted_servers_free_their_hosts(self):
        from nova_filter import engine
        per_host, errors = self._burst(self.cpu_flavor, n=16)
        self.assertEqual({h: 4 for h in self.HOSTS}, dict(per_host))
        self.assertEqual([], errors)
        # The last servers placed were never seen listed by a later
        # request: they still count on their hosts.
        placements = engine.engine().placements
        self.assertTrue(len(placements))
        for server in self.api.get_servers():
            self.api.delete_server(server['id'])
            self._wait_until_deleted(server)
        for _ in range(600):
            if not len(placements):
                break
            eventlet.sleep(0.1)
        self.assertEqual(0, len(placements), list(placements.uuids()))
        self.assertGreaterEqual(engine.engine().held_check.checks, 1)
        # The hosts are empty: 16 fit again.
        per_host, errors = self._burst(self.cpu_flavor, n=16)
        self.assertEqual({h: 4 for h in self.HOSTS}, dict(per_host))
        self.assertEqual([], errors)


class TestFailedBeforeListed(BurstTestBase):
    """A server in ERROR (its build aborted, or reset by an operator) stops
    counting; servers that are fine keep counting until listed."""

    LIBPLACEMENT = dict(BurstTestBase.LIBPLACEMENT, scheduled_check=0.5)

    def test_failed_server_stops_counting(self):
        from nova_filter import engine
        servers = [self._boot(self.cpu_flavor, name='w%d' % i)
                   for i in range(3)]
        placements = engine.engine().placements
        held = set(placements.uuids())
        self.assertIn(servers[-1]['id'], held)
        failed = servers[-1]
        self.api.post_server_action(failed['id'],
                                    {'os-resetState': {'state': 'error'}})
        for _ in range(600):
            if failed['id'] not in placements.uuids():
                break
            eventlet.sleep(0.1)
        self.assertNotIn(failed['id'], placements.uuids())
        self.assertEqual(held - {failed['id']}, set(placements.uuids()))
