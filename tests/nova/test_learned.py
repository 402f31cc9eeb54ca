"""Flavors of class auto take the class learned from running instances.

A real in-process Nova with agents over real HTTP on loopback
(agent_fixture). The agents report the instances Nova placed as the
libvirt collector does: workload id = instance UUID, with the root image's
UUID and the flavor name from Nova's domain metadata, and the class the
agent measured. Instances of the flavor ``web`` (class net) are measured
net, keeping 0.3 of a thread busy on 2 vCPUs; the flavor ``app`` has no
libplacement:workload, so with ``default_workload = auto`` its class is
learned from what runs of its image (else of its flavor).
"""

import collections
import copy
import logging
import time

import fixtures

from nova import objects
from nova.scheduler import host_manager
from oslo_utils import uuidutils

from nova_filter import engine
from nova_filter import hoststate

import agent_fixture
from agent_fixture import snapshot, thread_pool, workload
from test_agents import AgentTestBase
from test_functional import IMAGE1, IMAGE2

# What the agents measured of each web instance.
WEB_DEMAND = 0.3
WEB_CONFIDENCE = 0.9


def started_from(wid, image, flavor, klass='net', demand=WEB_DEMAND,
                 confidence=WEB_CONFIDENCE, vcpus=2):
    """A libvirt guest as the agent reports it, with what it was started
    from."""
    w = workload(wid, demand, vcpus + 1, klass, runtime='vm', vcpus=vcpus)
    w.update(image=image, flavor=flavor, confidence=confidence)
    return w


def serve_and_wait(snapshots, docs):
    """Wait until the scheduler holds the snapshots docs {host: doc} that
    the agents now serve (and the learner has observed them): the same
    workloads, with the same classes. (A live agent stamps every answer
    with the time, so the time alone cannot tell a new document from the
    one served before.)"""
    def workloads(doc):
        return sorted((w['id'], w.get('class')) for w in doc['workloads'])

    def served(snaps):
        now = time.time()
        for host, doc in docs.items():
            held = snaps.get(host, now)
            if held is None or workloads(held.doc) != workloads(doc):
                return False
        return True
    agent_fixture.refresh(snapshots, list(docs), served)


class LearnedTestBase(AgentTestBase):

    def setUp(self):
        super().setUp()
        # Co-location must win over Nova's RAM, CPU and disk weighers, which
        # prefer the emptiest host (docs/nova.md, ParallelismWeigher). A
        # held snapshot stays usable while a loaded machine delays its
        # refresh (every agent_ttl / 2 = 1 s): the arithmetic below counts
        # measured demand.
        self.flags(weight_multiplier=30.0, agent_clock_skew=600.0,
                   group='libplacement')
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_filter', level=logging.DEBUG,
            format='%(name)s %(message)s'))
        self.web = self._create_flavor(
            name='web', vcpu=2, memory_mb=512, disk=1, ephemeral=0,
            extra_spec={'libplacement:workload': 'net'})
        # No libplacement:workload: default_workload (auto).
        self.app = self._create_flavor(
            name='app', vcpu=2, memory_mb=512, disk=1, ephemeral=0)
        # server id -> (image, flavor name) of what this test booted.
        self.started = {}
        self.runtimes = {}

    def _boot_from(self, flavor, name, image, **kw):
        server = self._boot(flavor, name=name, image=image, **kw)
        if server.get('id'):
            self.started[server['id']] = (image, self._flavor_name(flavor))
        return server

    def _flavor_name(self, flavor):
        return {self.web: 'web', self.app: 'app'}[flavor]

    def _serve(self, measured):
        """Every host's agent reports a thread pool and the servers in
        measured (ids of web servers, measured net) that run there; wait
        until the scheduler holds (and has learned from) these snapshots.
        """
        by_host = collections.defaultdict(list)
        for s in self.api.get_servers(detail=True):
            if s['status'] == 'ACTIVE' and s['id'] in measured:
                image, flavor = self.started[s['id']]
                by_host[s['OS-EXT-SRV-ATTR:host']].append(
                    started_from(s['id'], image, flavor))
        docs = {}
        for host in self.HOSTS:
            doc = snapshot(host, [thread_pool('tomcat-' + host)]
                           + by_host[host])
            if host in self.runtimes:
                doc['runtimes'] = self.runtimes[host]
            self.agents.serve(host, doc)
            docs[host] = doc
        serve_and_wait(self._snapshots(), docs)

    def _boot_many(self, flavor, n, image, hints=None):
        """A multi-create of n servers; their statuses when settled."""
        self._boot(flavor, min_count=n, image=image, hints=hints)
        servers = [s for s in self.api.get_servers(detail=True)
                   if s['id'] not in self.started]
        self.assertEqual(n, len(servers))
        settled = []
        for s in servers:
            s = self._wait_for_state_change(s, ['ACTIVE', 'ERROR'])
            self.started[s['id']] = (image, self._flavor_name(flavor))
            settled.append(s)
        return settled

    def _wait_for_state_change(self, server, expected, max_retries=600):
        for _ in range(max_retries):
            server = self.api.get_server(server['id'])
            if server['status'] in expected:
                return server
            time.sleep(0.1)
        self.fail('server %s still %s' % (server['id'], server['status']))

    def _decisions(self):
        """The plugin's debug lines about requests of class auto."""
        return [line for line in self.log.output.splitlines()
                if 'workload auto' in line]


class TestLearnedFromImage(LearnedTestBase):

    HOSTS = ('host1', 'host2', 'host3')

    def test_auto_flavor_of_measured_net_image_lands_like_net(self):
        webs = [self._boot_from(self.web, 'web%d' % i, IMAGE2)['id']
                for i in range(3)]
        self._serve(webs)
        # Six app servers of the web image in one group, created at once:
        # learned net, each adds its learned demand (0.3 of a thread), so
        # the group stays on one host. Unclassified, each would reserve its
        # 2 vCPUs and at most 3 would fit next to a web server; and each
        # instance placed counts for the next one with its learned demand
        # too (the snapshot does not list them yet).
        servers = self._boot_many(self.app, 6, IMAGE2,
                                  hints={'libplacement_group': 'shop'})
        self.assertEqual(['ACTIVE'] * 6, [s['status'] for s in servers])
        hosts = collections.Counter(s['OS-EXT-SRV-ATTR:host']
                                    for s in servers)
        self.assertEqual([6], list(hosts.values()), hosts)
        line = ('class net adds 0.30: class net learned from 3 running '
                'instances of image %s, confidence 0.90' % IMAGE2)
        decisions = self._decisions()
        self.assertTrue(any(line in d and 'flavor app' in d
                            for d in decisions), decisions)
        # One request, one decision (the filters and the weigher share it).
        self.assertEqual(1, len(decisions), decisions)
        out = self.log.output
        self.assertIn('request app class net adds 0.3', out)
        self.assertIn('request class net runtime auto', out)
        self.assertNotIn('class unknown', out)


class TestLearnedRuntime(LearnedTestBase):
    """host1's agent offers vm and unikernel, host2's container and vm; the
    image runs only in containers."""

    HOSTS = ('host1', 'host2')

    def test_learned_net_runs_in_a_container(self):
        self.runtimes = {'host1': ['unikernel', 'vm'],
                         'host2': ['container', 'vm']}
        image = copy.deepcopy(self.glance.image1)
        image['id'] = 'c0a7d3e2-1b4f-4e8a-9d6c-5f2b8e7a1c30'
        image['properties'] = {'libplacement_runtime': 'container'}
        self.glance.create(None, image)
        self._serve(())
        webs = [self._boot_from(self.web, 'web%d' % i, image['id'])
                for i in range(3)]
        self.assertEqual({'host2'}, {s['OS-EXT-SRV-ATTR:host']
                                     for s in webs})
        self._serve([s['id'] for s in webs])
        # Unclassified, an app server of this image would run in a vm,
        # which the image does not allow: NoValidHost. Learned net: a
        # container, on the host that offers them.
        seen = len(self.log.output)
        server = self._boot_from(self.app, 'app0', image['id'])
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        out = self.log.output[seen:]
        self.assertIn('RuntimeFilter: host host2 pass: runtime container',
                      out)
        self.assertIn('RuntimeFilter: host host1 fail runtime', out)
        self.assertIn('class net learned from 3 running instances of image '
                      '%s' % image['id'], out)


class TestNotTrusted(LearnedTestBase):
    """One host: measured demand and what the app servers reserve add up
    exactly."""

    HOSTS = ('host1',)

    def test_unknown_until_trusted_and_for_unmeasured_images(self):
        webs = [self._boot_from(self.web, 'web%d' % i, IMAGE2)['id']
                for i in range(2)]
        self._serve(webs)
        # Two measured instances are too few (learn_min_instances 3): four
        # app servers reserve their 2 vCPUs each, 0.6 + 8 > 8 threads.
        servers = self._boot_many(self.app, 4, IMAGE2)
        self.assertEqual(['ERROR'] * 4, [s['status'] for s in servers])
        self.assertIn(
            'class unknown adds 2.00: not trusted: 2 of 2 running instances '
            'of image %s are net, confidence 0.90 (needs 3 instances, '
            'confidence 0.70); no running instance of flavor app measured'
            % IMAGE2, self.log.output)
        # A third one measured: the same request is learned net at the next
        # fetch, 0.3 each (0.9 + 4 x 0.3 <= 8).
        webs.append(self._boot_from(self.web, 'web2', IMAGE2)['id'])
        self._serve(webs)
        servers = self._boot_many(self.app, 4, IMAGE2)
        self.assertEqual(['ACTIVE'] * 4, [s['status'] for s in servers])
        self.assertIn('class net adds 0.30: class net learned from 3 running '
                      'instances of image %s, confidence 0.90' % IMAGE2,
                      self.log.output)
        # An image never measured stays unclassified: 2.1 + 4 x 2 > 8.
        servers = self._boot_many(self.app, 4, IMAGE1)
        self.assertEqual(['ERROR'] * 4, [s['status'] for s in servers])
        self.assertIn(
            'image %s, 2 vCPUs, workload auto): class unknown adds 2.00: no '
            'running instance of image %s measured; no running instance of '
            'flavor app measured' % (IMAGE1, IMAGE1), self.log.output)
        # Two more fit unclassified: 2.1 + 2 x 2 <= 8; the app servers of the
        # web image count what they were learned to demand.
        servers = self._boot_many(self.app, 2, IMAGE1)
        self.assertEqual(['ACTIVE'] * 2, [s['status'] for s in servers])


class TestOneRequestOneClass(LearnedTestBase):
    """The engine's answers for a RequestSpec, agents over real HTTP."""

    HOSTS = ('host1',)

    def _spec(self, image):
        flavor = objects.Flavor(name='app', flavorid='app', vcpus=2,
                                memory_mb=512, extra_specs={})
        return objects.RequestSpec(
            flavor=flavor, instance_uuid=uuidutils.generate_uuid(),
            scheduler_hints={}, image=objects.ImageMeta(id=image))

    def _measure(self, ids, klass):
        """host1's agent reports these instances of IMAGE2 as klass; wait
        until the scheduler has learned from it."""
        doc = snapshot('host1', [started_from(i, IMAGE2, 'other', klass)
                                 for i in ids])
        self.agents.serve('host1', doc)
        serve_and_wait(self._snapshots(), {'host1': doc})

    def test_learned_class_changes_between_requests_not_within(self):
        ids = [uuidutils.generate_uuid() for _ in range(3)]
        self._measure(ids, 'net')
        eng = engine.engine()
        spec = self._spec(IMAGE2)
        first = eng.request(spec)
        self.assertEqual('net', first.klass)
        self.assertAlmostEqual(WEB_DEMAND, first.added)
        self.assertEqual('net', first.lp['workload'])
        self.assertAlmostEqual(WEB_DEMAND, first.lp['demand'])
        # The image's instances now work the CPU: the request being
        # scheduled keeps its class (its filters and weigher agree) ...
        self._measure(ids, 'cpu')
        self.assertIs(first, eng.request(spec))
        # ... the next request takes the new one at once, as does the
        # declared demand of an app instance the agent does not list.
        second = eng.request(self._spec(IMAGE2))
        self.assertEqual(('cpu', 2.0), (second.klass, second.added))
        self.assertEqual('cpu', eng.learned((2.0, 0.0, IMAGE2, 'app'))[0])

    def test_declared_instances_follow_the_learned_class(self):
        # A host without an agent runs two app instances of the image that
        # it does not list: they count what the image is learned to be,
        # also when nothing else about the host changed.
        ids = [uuidutils.generate_uuid() for _ in range(3)]
        self._measure(ids, 'net')
        eng = engine.engine()
        flavor = self._spec(IMAGE2).flavor
        hs = host_manager.HostState('dark', 'dark', None)
        hs.vcpus_total = agent_fixture.THREADS
        hs.hypervisor_type = 'QEMU'
        hs.vcpus_used = 4
        hs.instances = {}
        for _ in range(2):
            uuid = uuidutils.generate_uuid()
            hs.instances[uuid] = objects.Instance(uuid=uuid, flavor=flavor)
            eng.catalog.remember(uuid, flavor, (), IMAGE2)

        def demand():
            hs.__dict__.pop(hoststate.MEMO_ATTR, None)  # a new request
            return eng.loads.values([hs])[0].demand
        self.assertAlmostEqual(2 * WEB_DEMAND, demand())
        self.assertAlmostEqual(2 * WEB_DEMAND, demand())
        self._measure(ids, 'cpu')
        self.assertEqual(4.0, demand())
