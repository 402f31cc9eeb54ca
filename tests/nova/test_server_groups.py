"""Nova server groups and the plugin (in-process Nova).

A server group is the request's libplacement group when no
libplacement_group hint is given and its policy says what the group would
do for the class; ParallelismWeigher never ranks the member hosts of an
(soft-)affinity group below others.
"""

import collections

from oslo_utils import uuidutils

from nova import objects
from nova.scheduler import host_manager
from nova.scheduler import weights

from nova_filter import weighers

from test_functional import PluginTestBase

# Nova's weighers for the soft policies (Nova refuses a soft policy when
# its weigher is not configured), and the plugin's.
WEIGHERS = [
    'nova.scheduler.weights.affinity.ServerGroupSoftAffinityWeigher',
    'nova.scheduler.weights.affinity.ServerGroupSoftAntiAffinityWeigher',
    'nova_filter.weighers.ParallelismWeigher',
]


class TestSoftPolicies(PluginTestBase):
    """Only Nova's weighers for soft policies and ParallelismWeigher, this
    one with a large multiplier: its headroom preference alone would spread a
    soft-affinity group (the emptier host leads by 0.1 x 30 = 3, soft
    affinity gives 1)."""

    HOSTS = ('host1', 'host2', 'host3')
    LIBPLACEMENT = {'weight_multiplier': 30.0}

    def _start_scheduler_with(self, weight_classes):
        self.scheduler_service.stop()
        self.flags(weight_classes=weight_classes, group='filter_scheduler')
        self.scheduler_service = self.start_service('scheduler')

    def _group_hosts(self, policy, flavor):
        self._start_scheduler_with(WEIGHERS)
        group = self.api.post_server_groups({'name': 'g-' + policy,
                                             'policy': policy})
        hosts = []
        for i in range(3):
            server = self._boot(flavor, name='m%d' % i,
                                hints={'group': group['id']})
            hosts.append(server['OS-EXT-SRV-ATTR:host'])
        return collections.Counter(hosts)

    def test_soft_affinity_members_stay_together(self):
        placed = self._group_hosts('soft-affinity', self.cpu_flavor)
        self.assertEqual([3], list(placed.values()), placed)

    def test_soft_anti_affinity_cpu_members_spread(self):
        placed = self._group_hosts('soft-anti-affinity', self.cpu_flavor)
        self.assertEqual([1, 1, 1], list(placed.values()), placed)


class TestWeigherBounds(PluginTestBase):
    """Nova's own weigher handler on two 1,000-thread hosts that differ by
    one vCPU in use."""

    HOSTS = ()

    def test_a_tiny_headroom_difference_stays_tiny(self):
        hosts = []
        for name, used in (('big1', 0), ('big2', 1)):
            hs = host_manager.HostState(name, name, None)
            hs.vcpus_total, hs.vcpus_used = 1000, used
            hosts.append(hs)
        flavor = objects.Flavor(name='one', flavorid='one', vcpus=1,
                                memory_mb=512, root_gb=1, ephemeral_gb=0,
                                swap=0, extra_specs={})
        spec = objects.RequestSpec(
            flavor=flavor, instance_uuid=uuidutils.generate_uuid(),
            scheduler_hints={}, num_instances=1, numa_topology=None,
            pci_requests=None, image=objects.ImageMeta(
                properties=objects.ImageMetaProps()))
        weighed = weights.HostWeightHandler().get_weighed_objects(
            [weighers.ParallelismWeigher()], hosts, spec)
        by_host = {w.obj.host: w.weight for w in weighed}
        # Multiplier 10: min-max normalisation would make it 10.0.
        self.assertGreater(by_host['big1'], by_host['big2'])
        self.assertLess(by_host['big1'] - by_host['big2'], 0.01)
