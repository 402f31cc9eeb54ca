"""Watcher's plan for the goal parallelism_cap, executed in a real Nova.

An in-process Nova 26 (API, conductor, scheduler with the libplacement
filters, three fake computes of 8 threads and 16 GB that live-migrate and
rebuild) is served over HTTP (watcher_endpoints); Watcher's decision engine
and applier run in a separate process (watcher_process) with its ordinary
clients, as in a deployment: the compute model is collected from Nova and
Placement, the strategy libplacement_rebalance plans, the weight planner
stores the action plan, and the applier's ``migrate`` actions
(watcher.applier.actions.migration, novaclient, os-migrateLive with a
destination) and ``libplacement_runtime_switch`` actions (rebuild) run
against Nova. Nova and Watcher cannot share a process: both register
``[DEFAULT] host`` on oslo.config's global configuration.
"""

import collections
import copy
import json
import os
import subprocess
import sys
import time

import fixtures
import pytest

pytest.importorskip('watcher', reason='python3-watcher is not installed '
                    '(scripts/deps/watcher.txt)')

from placement import deploy as placement_deploy  # noqa: E402

import nova.conf  # noqa: E402
from nova_filter import opts as nova_filter_opts  # noqa: E402
import novacloud  # noqa: E402

import watcher_endpoints  # noqa: E402

nova_filter_opts.register_opts(nova.conf.CONF)

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'    # GlanceFixture's image1
# Hang guard for one Watcher run (a loaded 2-core machine, many servers).
WATCHER_DEADLINE_S = 600
# Demand per vCPU the scheduler and the planner count for a class whose
# demand was not measured (docs/policy.md: estimate_net).
DECLARED_PER_VCPU = {'cpu': 1.0, 'net': 0.5}

# Watcher's default weights and parallelization, and the runtime switch
# (after the migrations, two at a time), as docs/watcher.md shows.
WEIGHTS = ('nop:70,volume_migrate:60,change_nova_service_state:50,sleep:40,'
           'migrate:30,libplacement_runtime_switch:25,resize:20,'
           'turn_host_to_acpi_s3_state:10,change_node_power_state:9')
PARALLELIZATION = ('turn_host_to_acpi_s3_state:2,resize:2,migrate:2,sleep:1,'
                   'change_nova_service_state:1,nop:1,'
                   'change_node_power_state:2,volume_migrate:2,'
                   'libplacement_runtime_switch:2')
WATCHER_CONF = """[DEFAULT]
transport_url = fake:/
host = watcher-nova-test
debug = true
[database]
connection = sqlite:///{dir}/watcher.sqlite
[oslo_messaging_notifications]
driver = noop
[watcher_clients_auth]
auth_type = v3password
auth_url = {url}/identity/v3
username = admin
password = admin
project_name = admin
user_domain_name = Default
project_domain_name = Default
[collector]
api_call_retries = 2
api_query_timeout = 1
[watcher_planners.weight]
weights = {weights}
parallelization = {parallelization}
[watcher_workflow_engines.taskflow]
max_workers = 2
[libplacement]
{libplacement}
"""


class WatcherOnNova(novacloud.TestbedCloud):
    """In-process Nova with the libplacement scheduler plugin, reachable
    over HTTP, and a Watcher process configured to drive it.
    """

    HOSTS = ('host1', 'host2', 'host3')
    # [libplacement] lines of watcher.conf; {url} is the endpoints' URL.
    LIBPLACEMENT = ''

    def configure(self):
        self.enable_plugin(['ComputeFilter', 'ImagePropertiesFilter',
                            'ParallelismFilter', 'RuntimeFilter'])

    def setUp(self):
        super().setUp()
        self.flavors = {}
        for name, vcpus, klass in (('cpu2', 2, 'cpu'), ('cpu4', 4, 'cpu'),
                                   ('web2', 2, 'net')):
            self.flavors[name] = (self._create_flavor(
                name=name, vcpu=vcpus, memory_mb=1024, disk=1, ephemeral=0,
                extra_spec={'libplacement:workload': klass}), vcpus, klass)
        placement_app = placement_deploy.loadapp(
            self.placement.fixture.conf_fixture.conf)
        self.endpoints = watcher_endpoints.Endpoints(
            self.api_fixture.app(), placement_app, self.glance,
            self.api_fixture.project_id).start()
        self.addCleanup(self.endpoints.stop)
        self.workdir = self.useFixture(fixtures.TempDir()).path
        self.watcher_conf = os.path.join(self.workdir, 'watcher.conf')
        with open(self.watcher_conf, 'w') as f:
            f.write(WATCHER_CONF.format(dir=self.workdir,
                                        url=self.endpoints.url,
                                        weights=WEIGHTS,
                                        parallelization=PARALLELIZATION,
                                        libplacement=self.LIBPLACEMENT.replace(
                                            '{url}', self.endpoints.url)))

    # -- Nova ---------------------------------------------------------------
    def _boot_on(self, host, flavor, name, group=None, image=IMAGE):
        """A server forced onto host (admin: filters are skipped)."""
        body = self._build_server(name=name, image_uuid=image,
                                  flavor_id=self.flavors[flavor][0],
                                  networks='none', az='nova:' + host)
        req = {'server': body}
        if group:
            body['metadata'] = {'libplacement_group': group}
            req['os:scheduler_hints'] = {'libplacement_group': group}
        server = self._wait_for_state_change(self.api.post_server(req),
                                             'ACTIVE')
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server

    def _servers(self):
        return {s['name']: s for s in self.api.get_servers(detail=True)}

    def _image(self, name, image_id, **properties):
        """A new image in the GlanceFixture (Glance's stand-in serves it)."""
        image = copy.deepcopy(self.glance.image1)
        image['id'] = image_id
        image['name'] = name
        image['properties'] = properties
        self.glance.create(None, image)
        return image_id

    def _declared_demand(self):
        """{host: demand} as the scheduler counts it from the flavors."""
        demand = collections.Counter({h: 0.0 for h in self.HOSTS})
        for s in self._servers().values():
            _, vcpus, klass = self.flavors[s['flavor']['original_name']]
            demand[s['OS-EXT-SRV-ATTR:host']] += \
                vcpus * DECLARED_PER_VCPU[klass]
        return dict(demand)

    # -- Watcher ------------------------------------------------------------
    def _watcher(self, *args):
        """Run watcher_process with args; its JSON output."""
        out = os.path.join(self.workdir, 'watcher.json')
        err = os.path.join(self.workdir, 'watcher.log')
        with open(err, 'w') as log:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, 'watcher_process.py'),
                 self.watcher_conf, out] + list(args),
                stdout=log, stderr=subprocess.STDOUT,
                env=os.environ.copy())
            # Polling with (eventlet's) sleep lets this process serve the
            # requests of the Watcher process meanwhile.
            deadline = time.monotonic() + WATCHER_DEADLINE_S
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    self.fail('the Watcher process hung; its log:\n'
                              + self._tail(err))
                time.sleep(0.05)
        if proc.returncode != 0:
            self.fail('the Watcher process failed (%d):\n%s'
                      % (proc.returncode, self._tail(err)))
        with open(out) as f:
            return json.load(f)

    @staticmethod
    def _tail(path, lines=80):
        with open(path) as f:
            return ''.join(f.readlines()[-lines:])

    def _audit(self, parameters=None, apply=False):
        args = ['audit', json.dumps(parameters or {})]
        if apply:
            args.append('--apply')
        return self._watcher(*args)

    def _log(self, lines=400):
        """The end of the last Watcher process's log (lines=None: all)."""
        path = os.path.join(self.workdir, 'watcher.log')
        if lines is None:
            with open(path) as f:
                return f.read()
        return self._tail(path, lines)


class TestRelieveOverCapHost(WatcherOnNova):

    def test_plan_executed_by_watcher_brings_every_host_within_cap(self):
        # host1: three workers of a cpu-class group (spread), a net-class
        # web shop of three (together) and a 4-vCPU batch job: demand
        # 6 + 3 x 0.5 x 2 + 4 = 13 on 8 threads. host2: a fourth worker and
        # another batch job: 6. host3: empty.
        for i in range(3):
            self._boot_on('host1', 'cpu2', 'spark%d' % i, group='spark')
            self._boot_on('host1', 'web2', 'shop%d' % i, group='shop')
        self._boot_on('host1', 'cpu4', 'batch1')
        self._boot_on('host2', 'cpu2', 'spark3', group='spark')
        self._boot_on('host2', 'cpu4', 'batch2')
        self.assertEqual({'host1': 13.0, 'host2': 6.0, 'host3': 0.0},
                         self._declared_demand())
        before = {n: s['OS-EXT-SRV-ATTR:host']
                  for n, s in self._servers().items()}

        result = self._audit(apply=True)

        planned = result['planned']
        self.assertEqual('SUCCEEDED', planned['audit']['state'], self._log())
        moves = [a for a in planned['actions']
                 if a['action_type'] == 'migrate']
        self.assertEqual(moves, planned['actions'],
                         'only live migrations expected')
        # No single server frees the 5 threads host1 is over; two do
        # (the batch job and one worker).
        self.assertEqual(2, len(moves))
        servers = self._servers()
        for move in moves:
            p = move['input_parameters']
            self.assertEqual('live', p['migration_type'])
            self.assertEqual('host1', p['source_node'])
            self.assertEqual(before[p['resource_name']], p['source_node'])
            self.assertEqual(servers[p['resource_name']]['id'],
                             p['resource_id'])
        self.assertEqual({'audited_nodes_count': 3.0,
                          'hosts_over_cap_before': 1.0,
                          'hosts_over_cap_after': 0.0,
                          'instance_migrations_count': 2.0,
                          'runtime_switches_count': 0.0},
                         planned['efficacy_indicators'])
        efficacy = {g['name']: g['value']
                    for g in planned['action_plan']['global_efficacy']}
        self.assertEqual({'hosts_within_cap_ratio': 100.0,
                          'relieved_hosts_ratio': 100.0}, efficacy)

        # Executed by Watcher's applier through Nova's API.
        applied = result['applied']
        self.assertEqual('SUCCEEDED', applied['action_plan']['state'],
                         self._log())
        self.assertEqual({'SUCCEEDED'},
                         {a['state'] for a in applied['actions']})
        migrations = {m['instance_uuid']: m for m in self.api.api_get(
            '/os-migrations').body['migrations']}
        self.assertEqual(len(moves), len(migrations))
        for move in moves:
            p = move['input_parameters']
            server = servers[p['resource_name']]
            self.assertEqual('ACTIVE', server['status'])
            self.assertEqual(p['destination_node'],
                             server['OS-EXT-SRV-ATTR:host'])
            migration = migrations[server['id']]
            self.assertEqual(('live-migration', 'completed', 'host1',
                              p['destination_node']),
                             (migration['migration_type'],
                              migration['status'],
                              migration['source_compute'],
                              migration['dest_compute']))
        for name, server in servers.items():
            if name not in {m['input_parameters']['resource_name']
                            for m in moves}:
                self.assertEqual(before[name],
                                 server['OS-EXT-SRV-ATTR:host'])
        demand = self._declared_demand()
        for host in self.HOSTS:
            self.assertLessEqual(demand[host], 8.0, demand)
        # The shop stays together, the workers stay spread.
        self.assertEqual(1, len({servers['shop%d' % i]['OS-EXT-SRV-ATTR:host']
                                 for i in range(3)}))
        # A worker only moves where fewer of its group then run than on
        # the most crowded host before (host1: 3).
        workers = collections.Counter(
            servers['spark%d' % i]['OS-EXT-SRV-ATTR:host'] for i in range(4))
        for move in moves:
            if move['input_parameters']['resource_name'].startswith('spark'):
                self.assertLess(
                    workers[move['input_parameters']['destination_node']], 3)

        # A second audit finds nothing to do: every host is within its cap.
        again = self._audit()['planned']
        self.assertEqual('SUCCEEDED', again['audit']['state'])
        self.assertEqual([], again['actions'])
        self.assertEqual(0.0,
                         again['efficacy_indicators']['hosts_over_cap_before'])


class TestRuntimeSwitchAction(WatcherOnNova):
    """The action plugin alone, as Watcher's applier runs it."""

    HOSTS = ('host1',)

    def setUp(self):
        super().setUp()
        self.box_image = self._image('tomcat-container', '2c8b8f6e-1d4a-'
                                     '4b1e-9f0a-7e3d2c1b0a02')
        self.vm_image = self._image(
            'tomcat-vm', '2c8b8f6e-1d4a-4b1e-9f0a-7e3d2c1b0a01',
            libplacement_variants='container:%s' % self.box_image)
        self.server = self._boot_on('host1', 'web2', 'tomcat',
                                    image=self.vm_image)

    def _switch(self, steps, **overrides):
        """Run the steps in one Watcher process: [(step, result or error)]."""
        params = {'resource_id': self.server['id'], 'resource_name': 'tomcat',
                  'from_runtime': 'vm', 'to_runtime': 'container',
                  'image': self.box_image, 'original_image': self.vm_image}
        params.update(overrides)
        return [(r['step'], r.get('result', r.get('error')))
                for r in self._watcher('action', 'libplacement_runtime_switch',
                                       json.dumps(params), ','.join(steps))]

    def _image_of_server(self):
        return self.api.get_server(self.server['id'])['image']['id']

    def test_rebuild_into_sibling_and_revert(self):
        # Applied, applied again (nothing to do), then reverted.
        self.assertEqual(
            [('pre_condition', None), ('execute', True),
             ('post_condition', None), ('execute', True), ('revert', True)],
            self._switch(['pre_condition', 'execute', 'post_condition',
                          'execute', 'revert']))
        self.assertEqual(self.vm_image, self._image_of_server())
        log = self._log(lines=None)
        self.assertEqual(1, log.count('rebuilding server %s from image %s '
                                      '(vm) into image %s (container)'
                                      % (self.server['id'], self.vm_image,
                                         self.box_image)), self._log())
        self.assertIn('already runs image %s' % self.box_image, log)
        self.assertIn('reverting the runtime switch of server %s'
                      % self.server['id'], log)
        # Applied once more and left: the server runs the sibling.
        self.assertEqual([('execute', True), ('post_condition', None)],
                         self._switch(['execute', 'post_condition']))
        server = self.api.get_server(self.server['id'])
        self.assertEqual(self.box_image, server['image']['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])

    def test_stale_plan_and_missing_sibling_change_nothing(self):
        other = self._image('other', '2c8b8f6e-1d4a-4b1e-9f0a-7e3d2c1b0a03')
        pre, stale = self._switch(['pre_condition', 'execute'],
                                  original_image=other)
        self.assertIn('runs image %s, not %s' % (self.vm_image, other),
                      pre[1])
        self.assertEqual(('execute', False), stale)
        missing = '2c8b8f6e-1d4a-4b1e-9f0a-7e3d2c1b0aff'
        pre, gone = self._switch(['pre_condition', 'execute'], image=missing)
        self.assertIn('image %s cannot be read' % missing, pre[1])
        self.assertEqual(('execute', False), gone)
        self.assertEqual(self.vm_image, self._image_of_server())
        # Not ACTIVE: stopped servers are not rebuilt by the plan.
        self.api.post_server_action(self.server['id'], {'os-stop': None})
        self._wait_for_state_change(self.server, 'SHUTOFF')
        pre, off = self._switch(['pre_condition', 'execute'])
        self.assertIn('it is SHUTOFF, not ACTIVE', pre[1])
        self.assertEqual(('execute', False), off)
        self.assertEqual(self.vm_image, self._image_of_server())


class TestRuntimeSwitchPlanned(WatcherOnNova):
    """A measured net-class server in a full VM is rebuilt into its image's
    container sibling by Watcher's plan; one without a sibling is named.
    """

    HOSTS = ('host1',)
    # Generous: the agents' stand-in shares this busy process with Nova.
    LIBPLACEMENT = 'agent_url = {url}/agents/{host}\nagent_timeout = 60'

    def test_switch_planned_and_executed_then_in_cool_down(self):
        box = self._image('tomcat-container',
                          '7d1c6a52-0b9e-4f7a-8d3c-2e1f0a9b8c01')
        vm = self._image('tomcat-vm', '7d1c6a52-0b9e-4f7a-8d3c-2e1f0a9b8c02',
                         libplacement_variants='container:%s' % box)
        tomcat = self._boot_on('host1', 'web2', 'tomcat', image=vm)
        plain = self._boot_on('host1', 'web2', 'plain')
        now = time.time()
        # The agent of host1: both measured network-bound for two hours,
        # in full VMs, on a host that also runs containers.
        self.endpoints.snapshots['host1'] = {
            'schema': 'libplacement/snapshot/v1', 'host': 'host1',
            'cpu': {'sockets': 1, 'cores': 4, 'threads': 8},
            'memory_mb': 16384, 'runtimes': ['container', 'vm'],
            'workloads': [
                {'id': s['id'], 'runtime': 'vm', 'vcpus': 2, 'demand': 0.3,
                 'util': 0.25, 'net_bps': 3e7, 'class': 'net',
                 'confidence': 0.95, 'class_since': now - 7200,
                 'memory_mb': 1024} for s in (tomcat, plain)]}

        result = self._audit(apply=True)

        planned = result['planned']
        self.assertEqual('SUCCEEDED', planned['audit']['state'], self._log())
        by_type = collections.defaultdict(list)
        for a in planned['actions']:
            by_type[a['action_type']].append(a['input_parameters'])
        self.assertEqual({'libplacement_runtime_switch', 'nop'},
                         set(by_type))
        self.assertEqual([{'resource_id': tomcat['id'],
                           'resource_name': 'tomcat', 'from_runtime': 'vm',
                           'to_runtime': 'container', 'image': box,
                           'original_image': vm}],
                         by_type['libplacement_runtime_switch'])
        (note,) = by_type['nop']
        self.assertIn('%s (plain) is class net' % plain['id'],
                      note['message'])
        self.assertIn('no switch: image %s has no property '
                      'libplacement_variants naming a sibling for container'
                      % IMAGE, note['message'])
        self.assertEqual(1.0, planned['efficacy_indicators']
                         ['runtime_switches_count'])
        applied = result['applied']
        self.assertEqual('SUCCEEDED', applied['action_plan']['state'],
                         self._log())
        servers = self._servers()
        self.assertEqual(box, servers['tomcat']['image']['id'])
        self.assertEqual('ACTIVE', servers['tomcat']['status'])
        self.assertEqual('host1', servers['tomcat']['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(IMAGE, servers['plain']['image']['id'])

        # The agent has not noticed yet; Watcher's own record of the switch
        # keeps the server in cool-down: no second rebuild.
        again = self._audit()['planned']
        self.assertEqual(['nop'],
                         [a['action_type'] for a in again['actions']])
        self.assertIn('(plain)', again['actions'][0]['input_parameters']
                      ['message'])
