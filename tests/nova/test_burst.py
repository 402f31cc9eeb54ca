"""Creates sent at once keep the cap (in-process Nova).

Heat or Terraform send many POST /servers without waiting for each other.
Nova schedules each in its own request, on HostState objects built afresh
from the compute node records, so a request does not see what another
placed until the compute reports it. Inside one scheduler the plugin counts
its own placements (nova_filter.hoststate.Placements); across schedulers
Placement does, with the resource class of nova_filter.placement.
"""

import collections
import os

import eventlet
import fixtures
import libplacement
import yaml

from nova_filter import placement

from test_functional import IMAGE1, PluginTestBase

SERVERS = 17


class BurstTestBase(PluginTestBase):

    HOSTS = ('host1', 'host2', 'host3', 'host4')

    def _burst(self, flavor, n=SERVERS):
        """POST n servers at once from n green threads; wait until each is
        ACTIVE or ERROR. Returns (servers per host, servers in ERROR)."""
        def post(i):
            body = self._build_server(name='burst%02d' % i,
                                      image_uuid=IMAGE1, flavor_id=flavor,
                                      networks='none')
            return self.api.post_server({'server': body})

        pool = eventlet.GreenPool(n)
        created = list(pool.imap(post, range(n)))
        done = [self._wait_for_state_change(s, ['ACTIVE', 'ERROR'])
                for s in created]
        per_host = collections.Counter(s['OS-EXT-SRV-ATTR:host']
                                       for s in done
                                       if s['status'] == 'ACTIVE')
        errors = [s for s in done if s['status'] == 'ERROR']
        return per_host, errors

    def _wait_for_state_change(self, server, expected, max_retries=600):
        # Nova's helper waits for one status; a burst ends in either.
        for _ in range(max_retries):
            server = self.api.get_server(server['id'])
            if server['status'] in expected:
                return server
            eventlet.sleep(0.1)
        self.fail('server %s still %s' % (server['id'], server['status']))

    def _assert_cap(self, per_host, errors):
        self.assertEqual(16, sum(per_host.values()), per_host)
        self.assertLessEqual(max(per_host.values()), 4, per_host)
        self.assertEqual(1, len(errors), errors)
        self.assertIn('No valid host', errors[0]['fault']['message'])


class TestBurstOneScheduler(BurstTestBase):

    def test_creates_sent_at_once_keep_the_cap(self):
        # 2-vCPU cpu servers on four 8-thread hosts: 16 fit, one does not.
        self._assert_cap(*self._burst(self.cpu_flavor))


class TestBurstPlacementResourceClass(BurstTestBase):
    """Stock Nova (no plugin): the parallelism resource class alone makes
    Placement refuse the over-cap claims, as it would for many
    schedulers."""

    PLUGIN = False

    def setUp(self):
        confdir = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(confdir, 'libplacement.yaml'), 'w') as f:
            yaml.safe_dump(placement.provider_config(threads=8), f)
        # nova-compute reads its provider configs when it starts.
        self.flags(provider_config_location=confdir, group='compute')
        super().setUp()

    def test_placement_refuses_over_cap_claims(self):
        for host in self.HOSTS:
            rp = self._get_provider_uuid_by_host(host)
            inv = self._get_provider_inventory(rp)[placement.RESOURCE_CLASS]
            self.assertEqual(800, inv['total'])
        amount = placement.flavor_amount(libplacement.Context(), 2, 'cpu')
        self.assertEqual(200, amount)
        flavor = self._create_flavor(
            name='cpu2-placement', vcpu=2, memory_mb=512, disk=1,
            ephemeral=0, extra_spec={
                'libplacement:workload': 'cpu',
                'resources:%s' % placement.RESOURCE_CLASS: str(amount)})
        self._assert_cap(*self._burst(flavor))
