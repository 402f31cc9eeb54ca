"""The research testbed as an in-process Nova 26 cloud.

Four compute hosts of 8 threads and 16 GB (pc1..pc4, Nova's fake driver
sized by tests/nova/testbed.py) with API, conductor, scheduler and
Placement in one process, built with Nova's functional test fixtures.
``DemoCloud.plugin`` chooses the scheduler: the libplacement filters and
weigher, or stock Nova (its default filters and weighers).
``DemoCloud.agents`` adds one fake libplacement agent per host, served over
HTTP by another process (tests/nova/agent_fixture.py) and read by the
plugin (``[libplacement] agent_url``).

``run_cloud(body, ...)`` boots a fresh cloud, runs ``body(cloud)`` in it and
returns what body returned. eval/closedloop.py subclasses ``DemoCloud``.
Not for production.
"""

import collections
import contextlib
import io
import json
import logging
import re
import time
import unittest
import warnings

warnings.simplefilter('ignore')


import nova.conf  # noqa: E402
from nova_filter import engine  # noqa: E402
from nova_filter import opts  # noqa: E402

import agent_fixture  # noqa: E402
import libplacement as lp  # noqa: E402
import novacloud  # noqa: E402
import testbed  # noqa: E402

opts.register_opts(nova.conf.CONF)

HOSTS = ('pc1', 'pc2', 'pc3', 'pc4')
IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'    # GlanceFixture's image1
# What the testbed's hosts offer; the plugin is told so for the fake driver.
RUNTIMES = ('container', 'unikernel', 'vm')
# Stock Nova chooses no runtime: every server is the hypervisor's VM.
STOCK_RUNTIME = 'vm'
GROUP_KEY = 'libplacement_group'
SERVER_MEMORY_MB = 2048
# Hang guards for a loaded machine, never expectations of speed.
BOOT_DEADLINE_S = 300
MIGRATION_DEADLINE_S = 300
# Seconds a snapshot counts for the plugin; it asks again at half of it.
AGENT_TTL_S = 2


class CloudFailed(RuntimeError):
    """The in-process cloud failed (a traceback or a hang guard)."""


class RuntimeLog(logging.Handler):
    """The runtime the plugin's RuntimeFilter chose per host, from its
    debug lines of the request being scheduled."""

    LINE = re.compile(r'RuntimeFilter: host (\S+) pass: runtime (\w+)')

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.by_host = {}

    def emit(self, record):
        m = self.LINE.match(record.getMessage())
        if m:
            self.by_host[m.group(1)] = m.group(2)


class DemoCloud(novacloud.TestbedCloud):
    """One in-process Nova cloud of the testbed."""

    HOSTS = HOSTS
    plugin = True
    agents = False

    def configure(self):
        if self.plugin:
            self.enable_plugin(nova.conf.CONF.filter_scheduler.enabled_filters +
                               ['ParallelismFilter', 'RuntimeFilter'])
            # The fake driver's hosts offer every runtime, like the testbed;
            # the plugin's weigher outweighs Nova's spreading weighers.
            self.flags(hypervisor_runtimes={'fake': '+'.join(RUNTIMES)},
                       weight_multiplier=30.0, group='libplacement')
        if self.agents:
            self.agent_farm = self.useFixture(agent_fixture.AgentFarm())
            self.flags(agent_url=self.agent_farm.url_template,
                       agent_ttl=AGENT_TTL_S, group='libplacement')

    def setUp(self):
        super().setUp()
        self.runtime_log = RuntimeLog()
        logger = logging.getLogger('nova_filter')
        logger.addHandler(self.runtime_log)
        self.addCleanup(logger.removeHandler, self.runtime_log)
        # server name -> the runtime it runs in
        self.runtimes = {}

    # -- servers -------------------------------------------------------------
    def flavor(self, name, vcpus, workload, parallelism=None):
        """A flavor describing its workload to the plugin; its id."""
        specs = {'libplacement:workload': workload}
        if parallelism:
            specs['libplacement:parallelism'] = str(parallelism)
        return self._create_flavor(name=name, vcpu=vcpus,
                                   memory_mb=SERVER_MEMORY_MB, disk=1,
                                   ephemeral=0, extra_spec=specs)

    def boot(self, name, flavor_id, group=None):
        """Boot a server through the API and the scheduler; the server once
        ACTIVE or ERROR (no valid host). The group is the scheduler hint
        and the server's metadata (what Watcher reads)."""
        body = self._build_server(name=name, image_uuid=IMAGE,
                                  flavor_id=flavor_id, networks='none')
        request = {'server': body}
        if group:
            body['metadata'] = {GROUP_KEY: group}
            request['os:scheduler_hints'] = {GROUP_KEY: group}
        self.runtime_log.by_host = {}
        server = self._wait_for_state_change(self.api.post_server(request),
                                             ['ACTIVE', 'ERROR'])
        if server['status'] == 'ACTIVE':
            self.runtimes[name] = self.runtime_log.by_host.get(
                server['OS-EXT-SRV-ATTR:host'], STOCK_RUNTIME)
        return server

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=None):
        # Nova's helper waits for one status a limited number of times; a
        # demo boot ends in either of two, on a machine of any speed.
        wanted = ([expected_status] if isinstance(expected_status, str)
                  else list(expected_status))
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while True:
            server = self.api.get_server(server['id'])
            if server['status'] in wanted:
                return server
            if time.monotonic() > deadline:
                raise CloudFailed('server %s stayed %s, not %s, for %d s'
                                  % (server['name'], server['status'],
                                     '/'.join(wanted), BOOT_DEADLINE_S))
            time.sleep(0.1)

    def servers(self):
        """{name: server} of every server, with details."""
        return {s['name']: s for s in self.api.get_servers(detail=True)}

    def live_migrate(self, server, host):
        """os-migrateLive to host (checked by the scheduler's filters, as
        the API does for a named host); the finished migration record."""
        self.api.post_server_action(server['id'], {'os-migrateLive': {
            'host': host, 'block_migration': 'auto'}})
        deadline = time.monotonic() + MIGRATION_DEADLINE_S
        while True:
            for m in self.api.api_get('/os-migrations').body['migrations']:
                if (m['instance_uuid'] == server['id'] and m['status'] in
                        ('completed', 'error', 'failed', 'cancelled')):
                    self._wait_for_state_change(server, ['ACTIVE', 'ERROR'])
                    return m
            if time.monotonic() > deadline:
                raise CloudFailed('the live migration of %s to %s did not '
                                  'finish in %d s' % (server['name'], host,
                                                      MIGRATION_DEADLINE_S))
            time.sleep(0.1)

    # -- what the scheduler sees ---------------------------------------------
    def host_docs(self, measured=None):
        """The cluster as the scheduler sees it, one host dict (a cluster
        file's, docs/formats.md) per compute host, in name order.

        A host is its agent's snapshot in measured ({host: snapshot dict})
        or, without one, the threads and memory Nova knows. Each server is
        a workload named by its server name, with the class and parallelism
        of its flavor as the plugin resolves them (nova_filter.hoststate):
        the agent's measurement of it when there is one, else declared.
        Workloads the agent measured that are no server stay as measured.
        """
        eng = engine.engine()
        on_host = collections.defaultdict(list)
        for name, s in sorted(self.servers().items()):
            if s['status'] == 'ACTIVE':
                on_host[s['OS-EXT-SRV-ATTR:host']].append(s)
        docs = []
        for host in HOSTS:
            snap = (measured or {}).get(host)
            seen = {w['id']: w for w in (snap or {}).get('workloads', ())}
            workloads = []
            for s in on_host[host]:
                flavor = s['flavor']
                klass, parallelism = eng.declared(flavor['vcpus'],
                                                  flavor['extra_specs'])
                w = dict(seen.pop(s['id'], {}), id=s['name'],
                         vcpus=float(parallelism),
                         memory_mb=float(flavor['ram']))
                if klass != 'unknown' or 'class' not in w:
                    w['class'] = klass
                w.setdefault('runtime',
                             self.runtimes.get(s['name'], STOCK_RUNTIME))
                group = (s.get('metadata') or {}).get(GROUP_KEY)
                if group:
                    w['group'] = group
                workloads.append(w)
            workloads.extend(seen.values())
            doc = dict(snap) if snap else {
                'cpu': {'threads': testbed.THREADS},
                'memory_mb': float(testbed.MEMORY_MB),
                'runtimes': list(RUNTIMES)}
            doc.update(host=host, workloads=workloads)
            docs.append(doc)
        return docs

    def scheduler_snapshots(self, since):
        """{host: snapshot dict} the scheduler's plugin holds, once it has
        fetched every host's agent answer given at or after since (unix
        time)."""
        held = {}

        def all_new(snapshots):
            # All hosts at one moment: a snapshot may expire meanwhile.
            now = time.time()
            snaps = {h: snapshots.get(h, now) for h in HOSTS}
            if any(s is None or s.time < since for s in snaps.values()):
                return False
            held.update((h, s.doc) for h, s in snaps.items())
            return True

        agent_fixture.refresh(engine.engine().snapshots, HOSTS, all_new)
        return held


def cluster_of(docs):
    """An lp.Cluster of host dicts."""
    return lp.Cluster.from_json(json.dumps({'hosts': docs}),
                                origin='the demo cloud')


def run_cloud(body, plugin=True, agents=False):
    """body(cloud) in a fresh DemoCloud; what body returns.

    Raises CloudFailed with the cloud's traceback when it fails.
    """
    out = []
    case = type('Cloud', (DemoCloud,), {
        'plugin': plugin, 'agents': agents,
        'runTest': lambda self: out.append(body(self))})()
    outcome = unittest.TestResult()
    # Nova's fixtures re-enable deprecation warnings of its dependencies.
    with contextlib.redirect_stderr(io.StringIO()):
        case.run(outcome)
    for _test, trace in outcome.errors + outcome.failures:
        raise CloudFailed('the in-process cloud failed:\n%s' % trace)
    return out[0]
