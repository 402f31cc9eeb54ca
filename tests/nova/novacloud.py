"""The in-process Nova cloud the tests, the demo and the evaluation boot.

``TestbedCloud`` is Nova's own functional test case with the testbed's fake
computes (tests/nova/testbed.py): each instance of it is a new cloud with a
new plugin engine, its attributes kept after a run, no project quota, and
``HOSTS`` started. Subclasses set their options in ``configure()`` (called
before Nova's services start, since the scheduler reads its filters then)
and enable the plugin with ``enable_plugin()``. Not for production.
"""

from nova.tests.functional import integrated_helpers

from nova_filter import engine
import testbed


class TestbedCloud(integrated_helpers.ProviderUsageBaseTestCase):

    compute_driver = testbed.COMPUTE_DRIVER
    HOSTS = ()

    def _clear_attrs(self):
        # nova.test.TestCase deletes every attribute after a run, including
        # the test method pytest still holds and what a caller still reads.
        pass

    def configure(self):
        """Set options (self.flags) before Nova's services start."""

    def enable_plugin(self, enabled_filters):
        """Nova's filters and weighers plus libplacement's, enabled_filters
        the names Nova applies, as nova.conf would."""
        self.flags(
            available_filters=['nova.scheduler.filters.all_filters',
                               'nova_filter.all_filters'],
            enabled_filters=enabled_filters,
            weight_classes=['nova.scheduler.weights.all_weighers',
                            'nova_filter.weighers.ParallelismWeigher'],
            group='filter_scheduler')

    def setUp(self):
        # A new cloud: a new plugin engine too, so that nothing the last
        # cloud's scheduler recorded (placements, caches) carries over to
        # hosts of the same name.
        engine.reset()
        self.addCleanup(engine.reset)
        self.useFixture(testbed.TestbedHostsFixture())
        self.flags(api_paste_config=testbed.API_PASTE, group='wsgi')
        # Runs boot more 2-vCPU servers than the default quota (20 cores).
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.configure()
        super().setUp()
        for host in self.HOSTS:
            self._start_compute(host)
