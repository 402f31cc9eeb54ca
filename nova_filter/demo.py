"""make demo: the research testbed as an in-process Nova cloud.

Four compute hosts of 8 threads and 16 GB (pc1..pc4, Nova's fake driver)
with API, conductor, scheduler and Placement in one process, built with
Nova's functional test fixtures. The examples' workloads are booted through
the Nova API, once with the libplacement filters and weigher enabled and
once with stock Nova (default filters and weighers), each on a fresh cloud:

  1. Spark pi: 16 cpu-class 2-vCPU workers (group spark-pi), then a 17th;
  2. Tomcat: 6 net-class 2-vCPU web servers of one group (tomcat).

For every server it prints where it landed and, with the plugin, why (the
plugin's own explanation line for the chosen host, or every host's refusal).

Run: make demo (or python3 -m nova_filter.demo with PYTHONPATH holding the
built module and tests/nova, where the testbed fixture lives). Takes about a
minute.
"""

import collections
import contextlib
import io
import logging
import sys
import time
import unittest
import warnings

warnings.simplefilter('ignore')

from nova.tests.functional import integrated_helpers  # noqa: E402

import nova.conf  # noqa: E402
from nova_filter import engine  # noqa: E402
from nova_filter import opts  # noqa: E402
import testbed  # noqa: E402

opts.register_opts(nova.conf.CONF)

HOSTS = ('pc1', 'pc2', 'pc3', 'pc4')
IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'

SCENARIOS = [
    {'title': 'Spark pi: 16 cpu-class 2-vCPU workers (group spark-pi), '
              'then a 17th',
     'flavor': ('spark', {'libplacement:workload': 'cpu',
                          'libplacement:parallelism': '2'}),
     'group': 'spark-pi', 'names': ['spark-%02d' % i for i in range(1, 18)]},
    {'title': 'Tomcat: 6 net-class 2-vCPU web servers of one group (tomcat)',
     'flavor': ('tomcat', {'libplacement:workload': 'net'}),
     'group': 'tomcat', 'names': ['tomcat-%d' % i for i in range(1, 7)]},
]


class LineCollector(logging.Handler):
    """Keeps the plugin's per-host debug lines of the current boot."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class DemoCloud(integrated_helpers.ProviderUsageBaseTestCase):
    """One in-process Nova cloud running one scenario."""

    compute_driver = testbed.COMPUTE_DRIVER
    plugin = True
    scenario = None
    results = None

    def _clear_attrs(self):
        pass

    def setUp(self):
        # A new cloud: a new plugin engine, so that nothing the last cloud's
        # scheduler recorded counts on hosts of the same names.
        engine.reset()
        self.addCleanup(engine.reset)
        self.useFixture(testbed.TestbedHostsFixture())
        self.flags(api_paste_config=testbed.API_PASTE, group='wsgi')
        # 17 servers of 2 vCPUs exceed the default project quota (20 cores).
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        if self.plugin:
            self.flags(
                available_filters=['nova.scheduler.filters.all_filters',
                                   'nova_filter.all_filters'],
                enabled_filters=(nova.conf.CONF.filter_scheduler
                                 .enabled_filters +
                                 ['ParallelismFilter', 'RuntimeFilter']),
                weight_classes=['nova.scheduler.weights.all_weighers',
                                'nova_filter.weighers.ParallelismWeigher'],
                group='filter_scheduler')
            # The fake driver's hosts offer every runtime, like the testbed;
            # the plugin's weigher outweighs Nova's spreading weighers.
            self.flags(hypervisor_runtimes={
                'fake': 'container+unikernel+vm'},
                weight_multiplier=30.0, group='libplacement')
        super().setUp()
        for host in HOSTS:
            self._start_compute(host)

    def runTest(self):
        name, specs = self.scenario['flavor']
        flavor = self._create_flavor(name=name, vcpu=2, memory_mb=2048,
                                     disk=1, ephemeral=0, extra_spec=specs)
        collector = LineCollector()
        log = logging.getLogger('nova_filter')
        log.addHandler(collector)
        try:
            for server_name in self.scenario['names']:
                collector.lines = []
                body = self._build_server(name=server_name, image_uuid=IMAGE,
                                          flavor_id=flavor, networks='none')
                server = self.api.post_server({
                    'server': body,
                    'os:scheduler_hints': {
                        'libplacement_group': self.scenario['group']}})
                server = self._wait_for_state_change(
                    server, ['ACTIVE', 'ERROR'])
                host = server.get('OS-EXT-SRV-ATTR:host')
                self.results.append(
                    (server_name, server['status'], host,
                     _why(collector.lines, host)))
        finally:
            log.removeHandler(collector)

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=100):
        # Nova's helper waits for one status; a demo boot ends in either.
        for _ in range(max_retries):
            server = self.api.get_server(server['id'])
            if server['status'] in expected_status:
                return server
            time.sleep(0.1)
        return server


def _why(lines, host):
    """The plugin's explanation for a placement or a refusal."""
    if not lines:
        return ''
    if host:
        # Nova skips weighing when a single host is left: then the filter's
        # line is the explanation.
        for prefix in ('ParallelismWeigher', 'ParallelismFilter'):
            for line in lines:
                if line.startswith('%s: host %s ' % (prefix, host)):
                    return line.split(' ', 3)[3].split(' [request')[0]
        return ''
    refusals = [line.split(' ', 2)[2].split(' [request')[0]
                for line in lines if line.startswith('ParallelismFilter')]
    return 'refused: ' + ' | '.join(refusals)


def run_cloud(scenario, plugin):
    """Boot a scenario on a fresh cloud: [(name, status, host, why)]."""
    results = []
    case = type('DemoCloud', (DemoCloud,), {
        'plugin': plugin, 'scenario': scenario, 'results': results})()
    outcome = unittest.TestResult()
    # Nova's fixtures re-enable deprecation warnings of its dependencies.
    with contextlib.redirect_stderr(io.StringIO()):
        case.run(outcome)
    for _test, trace in outcome.errors + outcome.failures:
        sys.exit('demo: the in-process cloud failed:\n%s' % trace)
    return results


def main():
    print('libplacement demo: the research testbed (4 hosts x 8 threads, '
          '16 GB) as an in-process Nova cloud')
    print('Servers booted through the Nova API: with the libplacement '
          'plugin (ParallelismFilter, RuntimeFilter, ParallelismWeigher)')
    print('and with stock Nova (default filters and weighers), each on a '
          'fresh cloud.\n')
    for scenario in SCENARIOS:
        ours = run_cloud(scenario, plugin=True)
        stock = run_cloud(scenario, plugin=False)
        print('== %s' % scenario['title'])
        print('  %-10s %-8s %-8s  %s' % ('server', 'plugin', 'stock',
                                       'why (plugin)'))
        for (name, status, host, why), (_n, s_status, s_host, _w) in zip(
                ours, stock):
            print('  %-10s %-8s %-8s  %s' % (
                name, host if status == 'ACTIVE' else 'NoValidHost',
                s_host if s_status == 'ACTIVE' else s_status, why))
        for label, res in (('plugin', ours), ('stock ', stock)):
            per_host = collections.Counter(
                host for _n, status, host, _w in res if status == 'ACTIVE')
            print('  %s: servers per host %s; refused %d' % (
                label, ', '.join('%s %d' % (h, per_host.get(h, 0))
                                 for h in HOSTS),
                sum(1 for r in res if r[1] != 'ACTIVE')))
        print()
    print('With the plugin, cpu-class workers stop at 4 per 8-thread host '
          '(2 vCPUs each: parallel demand 8 = threads) and the 17th is '
          'refused\ninstead of oversubscribing a host; the communicating '
          'net-class group lands together. Stock Nova spreads by free RAM.')


if __name__ == '__main__':
    main()
