"""Functional tests of nova_filter in a real in-process Nova.

API, conductor, scheduler and fake computes (8 threads, 16 GB each, see
testbed.py) with the Placement fixture, the plugin enabled through
self.flags exactly as nova.conf would. Run with check-nova (make).
"""

import collections
import copy
import logging
import os
import subprocess
import sys

import fixtures
import libplacement

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client

from nova_filter import opts
import novacloud

# In nova-scheduler the group is registered when the plugin loads; the
# flags below are set before that.
opts.register_opts(nova.conf.CONF)

IMAGE1 = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
IMAGE2 = 'a2459075-d96c-40d5-893e-577ff92e721c'


class PluginTestBase(novacloud.TestbedCloud):
    """In-process Nova with the libplacement filters and weigher enabled."""

    HOSTS = ('host1', 'host2')
    # [libplacement] options for the class, as in nova.conf.
    LIBPLACEMENT = {'weight_multiplier': 10.0}
    # False: stock Nova filters and weighers (the plugin is not enabled).
    PLUGIN = True

    def configure(self):
        if self.PLUGIN:
            self.enable_plugin(['ComputeFilter', 'ImagePropertiesFilter',
                                'ServerGroupAntiAffinityFilter',
                                'ServerGroupAffinityFilter',
                                'ParallelismFilter', 'RuntimeFilter'])
        self.flags(**dict(self.LIBPLACEMENT), group='libplacement')

    def setUp(self):
        super().setUp()
        self.cpu_flavor = self._create_flavor(
            name='cpu2', vcpu=2, memory_mb=512, disk=1, ephemeral=0,
            extra_spec={'libplacement:workload': 'cpu'})

    def _boot(self, flavor, name='srv', expected='ACTIVE', hints=None,
              min_count=None, image=IMAGE1):
        body = self._build_server(name=name, image_uuid=image,
                                  flavor_id=flavor, networks='none')
        if min_count:
            body['min_count'] = min_count
            body['max_count'] = min_count
            body['return_reservation_id'] = True
        req = {'server': body}
        if hints:
            req['os:scheduler_hints'] = hints
        server = self.api.post_server(req)
        if min_count:
            return server
        return self._wait_for_state_change(server, expected)

    def _hosts_of_servers(self):
        servers = self.api.get_servers(detail=True)
        placed = collections.Counter(
            s['OS-EXT-SRV-ATTR:host'] for s in servers
            if s['status'] == 'ACTIVE')
        return placed, servers


class TestParallelismCap(PluginTestBase):

    def test_cpu_servers_never_exceed_threads_then_novalidhost(self):
        # 2-vCPU cpu-class servers on 8-thread hosts: 4 per host at most
        # (Placement alone would take 16 per host at cpu ratio 4.0).
        for i in range(8):
            self._boot(self.cpu_flavor, name='w%d' % i)
        placed, _ = self._hosts_of_servers()
        self.assertEqual({'host1': 4, 'host2': 4}, dict(placed))
        # Every host is full: the 9th cannot be placed.
        server = self._boot(self.cpu_flavor, name='w8', expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        placed, _ = self._hosts_of_servers()
        self.assertEqual({'host1': 4, 'host2': 4}, dict(placed))

    def test_rebuild_on_full_host_is_not_blocked(self):
        servers = [self._boot(self.cpu_flavor, name='w%d' % i)
                   for i in range(8)]
        # Rebuild with another image goes through the scheduler with the
        # rebuild check type; the host is at its cap, yet it must pass.
        server = self._rebuild_server(servers[0], IMAGE2)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(IMAGE2, server['image']['id'])

    def test_debug_line_per_host(self):
        log = self.useFixture(fixtures.FakeLogger(
            name='nova_filter', level=logging.DEBUG,
            format='%(name)s %(message)s'))
        self._boot(self.cpu_flavor, name='w0')
        for host in self.HOSTS:
            self.assertIn('ParallelismFilter: host %s pass' % host,
                          log.output)
            self.assertIn('ParallelismWeigher: host %s' % host, log.output)
            self.assertIn('RuntimeFilter: host %s pass' % host, log.output)


class TestMultiCreate(PluginTestBase):

    HOSTS = ('host1',)

    def test_multi_create_respects_cap(self):
        # Five at once on one 8-thread host: each instance must see the ones
        # placed before it in the same request, so the request fails.
        self._boot(self.cpu_flavor, min_count=5)
        self._wait_for_instance_count_in_error(5)
        placed, _ = self._hosts_of_servers()
        self.assertEqual({}, dict(placed))
        # Four fit exactly.
        self._boot(self.cpu_flavor, min_count=4)
        self._wait_for_active(4)
        placed, _ = self._hosts_of_servers()
        self.assertEqual({'host1': 4}, dict(placed))

    def _wait_for_instance_count_in_error(self, n):
        servers = self.api.get_servers(detail=True)
        self.assertEqual(n, len(servers))
        for s in servers:
            self._wait_for_state_change(s, 'ERROR')

    def _wait_for_active(self, n):
        servers = [s for s in self.api.get_servers(detail=True)
                   if s['status'] != 'ERROR']
        self.assertEqual(n, len(servers))
        for s in servers:
            self._wait_for_state_change(s, 'ACTIVE')


class TestNetGroup(PluginTestBase):

    HOSTS = ('host1', 'host2', 'host3')

    def test_net_group_lands_together(self):
        web = self._create_flavor(
            name='web2', vcpu=2, memory_mb=512, disk=1, ephemeral=0,
            extra_spec={'libplacement:workload': 'net'})
        for i in range(3):
            self._boot(web, name='web%d' % i,
                       hints={'libplacement_group': 'shop'})
        placed, _ = self._hosts_of_servers()
        self.assertEqual(1, len(placed), placed)
        self.assertEqual(3, sum(placed.values()))


class TestRuntimes(PluginTestBase):

    LIBPLACEMENT = {'weight_multiplier': 10.0,
                    'hypervisor_runtimes': {'fake': 'vm+unikernel'}}

    def test_runtime_rules(self):
        agg = self.admin_api.post_aggregate(
            {'aggregate': {'name': 'containers'}})
        self.admin_api.add_host_to_aggregate(agg['id'], 'host1')
        self.admin_api.post_aggregate_action(
            agg['id'], {'set_metadata': {'metadata': {
                'libplacement_runtimes': 'container'}}})
        uni = self._create_flavor(
            name='uni', vcpu=1, memory_mb=256, disk=1, ephemeral=0,
            extra_spec={'libplacement:runtime': 'unikernel'})
        box = self._create_flavor(
            name='box', vcpu=1, memory_mb=256, disk=1, ephemeral=0,
            extra_spec={'libplacement:runtime': 'container'})
        # host1 offers containers (aggregate), host2 vm+unikernel (type).
        for i in range(3):
            s = self._boot(uni, name='u%d' % i)
            self.assertEqual('host2', s['OS-EXT-SRV-ATTR:host'])
            s = self._boot(box, name='c%d' % i)
            self.assertEqual('host1', s['OS-EXT-SRV-ATTR:host'])
        vm = self._create_flavor(
            name='vm', vcpu=1, memory_mb=256, disk=1, ephemeral=0,
            extra_spec={'libplacement:runtime': 'vm'})
        s = self._boot(vm, name='v0')
        self.assertEqual('host2', s['OS-EXT-SRV-ATTR:host'])


    def test_image_property_limits_runtimes(self):
        # An image that only runs in containers: host2 (vm+unikernel by
        # hypervisor type) cannot take it; host1 offers containers through
        # its aggregate.
        image = copy.deepcopy(self.glance.image1)
        image['id'] = '9bd3a9d2-5f8b-4c8e-a7f6-4d4c9c1d1e01'
        image['properties'] = {'libplacement_runtime': 'container'}
        self.glance.create(None, image)
        # net class: runtime auto prefers container, then vm.
        flavor = self._create_flavor(
            name='web', vcpu=1, memory_mb=256, disk=1, ephemeral=0,
            extra_spec={'libplacement:workload': 'net'})
        server = self._boot(flavor, name='c-none', image=image['id'],
                            expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        agg = self.admin_api.post_aggregate(
            {'aggregate': {'name': 'containers'}})
        self.admin_api.add_host_to_aggregate(agg['id'], 'host1')
        self.admin_api.post_aggregate_action(
            agg['id'], {'set_metadata': {'metadata': {
                'libplacement_runtimes': 'container,vm'}}})
        server = self._boot(flavor, name='c-one', image=image['id'])
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])


class TestAggregateWeightMultiplier(PluginTestBase):
    """libplacement_weight_multiplier in aggregate metadata overrides
    [libplacement] weight_multiplier (10) for the hosts in the aggregate.
    """

    def test_negative_multiplier_turns_preference_around(self):
        busy = self._boot(self.cpu_flavor, name='w0')['OS-EXT-SRV-ATTR:host']
        idle = ({'host1', 'host2'} - {busy}).pop()
        # -10 on the idle host: its larger headroom now counts against it,
        # more than Nova's RAM/CPU/disk weighers count for it.
        agg = self.admin_api.post_aggregate(
            {'aggregate': {'name': 'stack-elsewhere'}})
        self.admin_api.add_host_to_aggregate(agg['id'], idle)
        self.admin_api.post_aggregate_action(
            agg['id'], {'set_metadata': {'metadata': {
                'libplacement_weight_multiplier': '-10'}}})
        server = self._boot(self.cpu_flavor, name='w1')
        self.assertEqual(busy, server['OS-EXT-SRV-ATTR:host'])
        # Without the aggregate the default multiplier prefers headroom.
        self.admin_api.remove_host_from_aggregate(agg['id'], idle)
        server = self._boot(self.cpu_flavor, name='w2')
        self.assertEqual(idle, server['OS-EXT-SRV-ATTR:host'])


class TestExtraSpecValidation(PluginTestBase):

    HOSTS = ()

    def _refused(self, key, value):
        flavor = self._create_flavor(name='f-%s-%s' % (key[13:], value))
        ex = self.assertRaises(
            client.OpenStackApiException,
            self.admin_api.post_extra_spec, flavor,
            {'extra_specs': {key: value}})
        self.assertEqual(400, ex.response.status_code)
        return ex

    def test_bad_values_get_400(self):
        ex = self._refused('libplacement:workload', 'bogus')
        self.assertIn("'bogus' is not one of: cpu, net, io", str(ex))
        self._refused('libplacement:parallelism', '0')
        self._refused('libplacement:parallelism', 'many')
        self._refused('libplacement:runtime', 'jail')
        self._refused('libplacement:nonsense', '1')

    def test_good_values_accepted(self):
        flavor = self._create_flavor(name='ok')
        specs = {'libplacement:workload': 'net',
                 'libplacement:parallelism': '1.5',
                 'libplacement:runtime': 'container'}
        self.admin_api.post_extra_spec(flavor, {'extra_specs': specs})
        got = self.admin_api.get_extra_specs(flavor)
        self.assertEqual(specs, got)


class TestFailOpen(PluginTestBase):
    """A policy the C core refuses makes every decision fail."""

    HOSTS = ('host1',)
    LIBPLACEMENT = {'policy': {'no_such_parameter': '1'}}

    def test_scheduler_keeps_working(self):
        # fail_open (default): the plugin passes every host; five cpu
        # servers exceed the cap but boot, and the error is logged.
        for i in range(5):
            self._boot(self.cpu_flavor, name='w%d' % i)
        placed, _ = self._hosts_of_servers()
        self.assertEqual({'host1': 5}, dict(placed))
        self.assertIn('ParallelismFilter could not decide',
                      self.stdlog.logger.output)
        self.assertIn('Passing all hosts (fail_open=True)',
                      self.stdlog.logger.output)
        self.assertIn('no_such_parameter', self.stdlog.logger.output)


class TestFailClosed(PluginTestBase):

    HOSTS = ('host1',)
    LIBPLACEMENT = {'policy': {'no_such_parameter': '1'},
                    'fail_open': False}

    def test_refuses_all_hosts(self):
        server = self._boot(self.cpu_flavor, name='w0', expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        self.assertIn('Refusing all hosts (fail_open=False)',
                      self.stdlog.logger.output)


class TestSampleConfig(PluginTestBase):
    """The options reach oslo-config-generator via the entry point."""

    HOSTS = ()

    def test_generator_lists_options(self):
        # The generator finds the entry point in the egg-info next to the
        # module built by `make python`.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([
            os.path.dirname(libplacement.__file__),
            os.path.dirname(os.path.dirname(opts.__file__))]))
        out = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable),
                          'oslo-config-generator'),
             '--namespace', 'libplacement.nova'],
            capture_output=True, text=True, timeout=60, check=True,
            env=env).stdout
        self.assertIn('[libplacement]', out)
        for opt in ('max_parallel_ratio', 'agent_url', 'agent_timeout',
                    'agent_ttl', 'fail_open', 'hypervisor_runtimes',
                    'weight_multiplier'):
            self.assertIn('#%s = ' % opt, out)
        self.assertIn('threads x max_parallel_ratio', out)


class TestDeclaredDemandFromInstances(PluginTestBase):
    """Demand of instances booted before the scheduler restarts."""

    HOSTS = ('host1',)

    def test_restart_keeps_cap(self):
        for i in range(3):
            self._boot(self.cpu_flavor, name='w%d' % i)
        # A new scheduler knows nothing of earlier requests: it must read
        # the demand from the host's instances and their flavors.
        self.scheduler_service.stop()
        self.scheduler_service = self.start_service('scheduler')
        self._boot(self.cpu_flavor, name='w3')
        server = self._boot(self.cpu_flavor, name='w4', expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        ctxt = nova_context.get_admin_context()
        self.assertEqual(4, len(objects.InstanceList.get_by_host(
            ctxt, 'host1')))
