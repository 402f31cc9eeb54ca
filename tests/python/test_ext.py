"""The extension module `libplacement` (pybind/): every call, its errors, and leaks.

Runs against the real C library (make check-python; make check-python-leaks runs
it again against an ASan+UBSan build of the module with LeakSanitizer on).
"""

import collections
import gc
import importlib.metadata
import json
import math
import os
import pathlib
import threading

import pytest

import libplacement as lp

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / 'examples'
# The leak loops: 100,000 calls in the plain build; fewer under ASan, where
# LeakSanitizer (at exit) rather than RSS shows a leak.
LOOPS = int(os.environ.get('LP_TEST_LOOPS', '100000'))
UNDER_ASAN = os.environ.get('LP_TEST_ASAN') == '1'

EMPTY = (8, 0.0, -1, lp.RUNTIME_ALL, 0)        # an idle 8-thread testbed host
CPU2 = {'id': 'spark', 'vcpus': 2, 'workload': 'cpu'}


def example(name):
    return (EXAMPLES / name).read_text()


@pytest.fixture
def ctx():
    return lp.Context()


@pytest.fixture
def testbed():
    return lp.Cluster.from_json(example('testbed.json'), origin='testbed.json')


def snapshot(host, threads=8, demand=0.0, runtimes=('container', 'unikernel', 'vm'),
             workloads=()):
    return {'schema': 'libplacement/snapshot/v1', 'host': host, 'time': 0,
            'cpu': {'sockets': 1, 'cores': max(1, threads // 2), 'threads': threads},
            'memory_mb': 16384, 'runtimes': list(runtimes),
            'load': {'demand': demand, 'util': demand, 'iowait': 0.0, 'steal': 0.0},
            'workloads': list(workloads)}


def rss_kb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


# ---- module ------------------------------------------------------------------

class TestModule:
    def test_constants(self):
        assert lp.__version__ == '1.0.0'
        assert (lp.RUNTIME_CONTAINER, lp.RUNTIME_UNIKERNEL, lp.RUNTIME_VM,
                lp.RUNTIME_ALL) == (1, 2, 4, 7)
        assert lp.CLASSES == ('cpu', 'net', 'io', 'mixed', 'idle', 'unknown')
        assert lp.RUNTIMES == ('container', 'unikernel', 'vm')

    def test_docstrings(self):
        assert 'placement' in lp.__doc__
        for obj in (lp.Context, lp.Cluster, lp.Verdicts, lp.Error, lp.ParseError,
                    lp.runtime_mask, lp.parse_requests):
            assert obj.__doc__, obj
        for cls in (lp.Context, lp.Cluster, lp.Verdicts):
            for name in dir(cls):
                if not name.startswith('_'):
                    assert getattr(cls, name).__doc__, f'{cls.__name__}.{name}'

    def test_runtime_mask(self):
        assert lp.runtime_mask(['container', 'vm']) == 5
        assert lp.runtime_mask(('unikernel',)) == 2
        assert lp.runtime_mask('unikernel, vm') == 6
        assert lp.runtime_mask([]) == 0
        assert lp.runtime_mask(7) == 7

    def test_runtime_mask_errors(self):
        with pytest.raises(ValueError, match="unknown runtime 'xen'"):
            lp.runtime_mask(['container', 'xen'])
        with pytest.raises(ValueError, match="unknown runtime 'auto'"):
            lp.runtime_mask(['auto'])
        with pytest.raises(TypeError, match='must be a str, not int'):
            lp.runtime_mask(['vm', 3])
        with pytest.raises(TypeError, match='sequence of runtime names'):
            lp.runtime_mask(None)
        with pytest.raises(ValueError, match='0..7, not 8'):
            lp.runtime_mask(8)

    def test_entry_points_discoverable(self):
        """setup.py's entry points, found through the egg-info that make python writes."""
        found = {(e.group, e.name): e.value
                 for group in ('oslo.config.opts', 'nova.api.extra_spec_validators',
                               'zun.container.driver')
                 for e in importlib.metadata.entry_points().select(group=group)}
        assert found[('oslo.config.opts', 'libplacement.nova')] == 'nova_filter.opts:list_opts'
        assert found[('oslo.config.opts', 'libplacement.zun')] == 'zun_driver.opts:list_opts'
        # Nova loads a module here and calls its register().
        assert found[('nova.api.extra_spec_validators', 'libplacement')] == \
            'nova_filter.extra_specs'
        assert found[('zun.container.driver', 'libplacement.docker')] == \
            'zun_driver.driver:LibplacementDockerDriver'

    def test_exceptions(self):
        assert issubclass(lp.Error, Exception)
        assert issubclass(lp.ParseError, lp.Error)
        assert issubclass(lp.ParseError, ValueError)
        assert lp.Error('x').status is None


# ---- Context: policy ----------------------------------------------------------

class TestPolicy:
    def test_defaults_and_keywords(self):
        params = lp.Context().params()
        assert params['max_parallel_ratio'] == 1.0
        assert params['weight_spread'] == 0.5
        ctx = lp.Context(max_parallel_ratio=1.5, weight_colocate=2)
        assert ctx.get('max_parallel_ratio') == 1.5
        assert ctx.params()['weight_colocate'] == 2.0

    def test_set_get(self, ctx):
        ctx.set('weight_headroom', 0.25)
        assert ctx.get('weight_headroom') == 0.25

    def test_unknown_parameter_is_c_error(self, ctx):
        with pytest.raises(lp.Error, match="unknown policy parameter 'bogus'") as e:
            ctx.set('bogus', 1.0)
        assert e.value.status == 'not found' and e.value.code == 5
        assert not isinstance(e.value, ValueError)
        with pytest.raises(lp.Error, match='bogus'):
            ctx.get('bogus')
        with pytest.raises(lp.Error, match='bogus'):
            lp.Context(bogus=1)

    def test_out_of_range_is_c_error_and_unchanged(self, ctx):
        with pytest.raises(lp.Error, match='max_parallel_ratio') as e:
            ctx.set('max_parallel_ratio', -1)
        assert e.value.status == 'invalid argument'
        assert ctx.get('max_parallel_ratio') == 1.0

    def test_bad_arguments(self, ctx):
        with pytest.raises(TypeError, match="policy parameter 'weight_spread' must be a number, not str"):
            ctx.set('weight_spread', '0.5')
        with pytest.raises(ValueError, match="'weight_spread' must be a finite number"):
            ctx.set('weight_spread', math.nan)
        with pytest.raises(TypeError, match='name must be a str'):
            ctx.set(1, 0.5)
        with pytest.raises(TypeError, match='keyword only'):
            lp.Context(1.0)
        with pytest.raises(TypeError):
            ctx.get()

    def test_runtime_order(self, ctx):
        assert ctx.get_runtime_order('cpu') == 'unikernel,vm'
        ctx.set_runtime_order('cpu', 'vm,unikernel')
        assert ctx.get_runtime_order('cpu') == 'vm,unikernel'
        assert ctx.choose_runtime('cpu', lp.RUNTIME_ALL) == 'vm'

    def test_runtime_order_errors(self, ctx):
        with pytest.raises(ValueError, match="klass: unknown workload class 'gpu'"):
            ctx.get_runtime_order('gpu')
        with pytest.raises(ValueError, match="klass: unknown workload class 'auto'"):
            ctx.set_runtime_order('auto', 'vm')
        with pytest.raises(lp.Error, match='xen'):
            ctx.set_runtime_order('cpu', 'unikernel,xen')
        assert ctx.get_runtime_order('cpu') == 'unikernel,vm'


# ---- Context: classify, choose_runtime, resolve --------------------------------

class TestDecisions:
    def test_classify(self, ctx):
        klass, conf, reasons = ctx.classify({'util': 1.9, 'threads': 2, 'vcpus': 2,
                                             'net_bps': 0, 'wait_ratio': 0.02})
        assert klass == 'cpu' and 0 < conf <= 1 and 'util' in reasons
        assert ctx.classify({'util': 0.4, 'threads': 40, 'vcpus': 2,
                             'net_bps': 4e7})[0] == 'net'
        assert ctx.classify({}) == ('unknown', 0.0, ctx.classify({})[2])

    def test_classify_accepts_snapshot_workloads(self, ctx):
        w = {'id': 'i-1', 'runtime': 'vm', 'vcpus': 2, 'threads': 2, 'demand': 2.0,
             'util': 1.9, 'wait_ratio': 0.0, 'iowait': 0.0, 'net_bps': 0, 'disk_bps': 0,
             'class': 'unknown', 'confidence': 0, 'group': None, 'memory_mb': -1}
        assert ctx.classify(w)[0] == 'cpu'

    def test_classify_errors(self, ctx):
        with pytest.raises(ValueError, match=r"metrics: unknown key 'utilisation'"):
            ctx.classify({'utilisation': 1})
        with pytest.raises(TypeError, match=r"metrics\['util'\] must be a number, not str"):
            ctx.classify({'util': 'high'})
        with pytest.raises(ValueError, match=r"metrics\['net_bps'\] must be a finite number"):
            ctx.classify({'net_bps': math.inf})
        with pytest.raises(TypeError, match='metrics must be a dict, not list'):
            ctx.classify([1.9])
        with pytest.raises(TypeError, match='keys must be str'):
            ctx.classify({1: 2})

    def test_choose_runtime(self, ctx):
        assert ctx.choose_runtime('cpu', lp.RUNTIME_ALL) == 'unikernel'
        assert ctx.choose_runtime('cpu', lp.RUNTIME_CONTAINER) is None
        assert ctx.choose_runtime('cpu', 7, allowed_mask=lp.RUNTIME_VM) == 'vm'
        assert ctx.choose_runtime('net', ['vm', 'container']) == 'container'
        assert ctx.choose_runtime('mixed', 'container,vm') == 'vm'

    def test_choose_runtime_errors(self, ctx):
        with pytest.raises(ValueError, match="unknown workload class 'auto'"):
            ctx.choose_runtime('auto', 7)
        with pytest.raises(ValueError, match='host_runtimes_mask must be a runtime mask 0..7'):
            ctx.choose_runtime('cpu', 9)
        with pytest.raises(ValueError, match="allowed_mask: unknown runtime 'kvm'"):
            ctx.choose_runtime('cpu', 7, allowed_mask=['kvm'])

    def test_resolve(self, ctx):
        assert ctx.resolve(CPU2) == ('cpu', 2.0)
        assert ctx.resolve({'vcpus': 2, 'workload': 'cpu', 'parallelism': 4}) == ('cpu', 4.0)
        klass, added = ctx.resolve({'vcpus': 2, 'workload': 'net', 'demand': 0.5})
        assert (klass, added) == ('net', 0.5)
        auto = {'vcpus': 2, 'metrics': {'util': 0.4, 'threads': 40, 'net_bps': 4e7}}
        assert ctx.resolve(auto)[0] == 'net'
        assert ctx.resolve({'vcpus': 1})[0] == 'unknown'


# ---- request dicts ---------------------------------------------------------------

BAD_TYPES = [
    ('id', 5, TypeError, r"request\['id'\] must be a str, not int"),
    ('count', 2.0, TypeError, r"request\['count'\] must be an int, not float"),
    ('count', True, TypeError, r"request\['count'\] must be an int, not bool"),
    ('vcpus', '2', TypeError, r"request\['vcpus'\] must be a number, not str"),
    ('vcpus', None, TypeError, r"request\['vcpus'\] must be a number, not NoneType"),
    ('memory_mb', [1], TypeError, r"request\['memory_mb'\] must be a number, not list"),
    ('workload', 1, TypeError, r"request\['workload'\] must be a str, not int"),
    ('parallelism', {}, TypeError, r"request\['parallelism'\] must be a number"),
    ('demand', b'1', TypeError, r"request\['demand'\] must be a number, not bytes"),
    ('runtime', None, TypeError, r"request\['runtime'\] must be a str, not NoneType"),
    ('allowed_runtimes', 1.5, TypeError, r"request\['allowed_runtimes'\] must be an int mask"),
    ('group', 3, TypeError, r"request\['group'\] must be a str, not int"),
    ('metrics', [], TypeError, r"request\['metrics'\] must be a dict, not list"),
]
BAD_VALUES = [
    ('count', 0, r"request\['count'\] must be 1..100000, not 0"),
    ('count', 10 ** 6, r"request\['count'\] must be 1..100000"),
    ('vcpus', 0, r"request\['vcpus'\] must be > 0, not 0"),
    ('vcpus', math.nan, r"request\['vcpus'\] must be a finite number"),
    ('memory_mb', -5, r"request\['memory_mb'\] must be >= 0, not -5"),
    ('parallelism', -1, r"request\['parallelism'\] must be >= 0"),
    ('workload', 'gpu', r"request\['workload'\]: unknown workload class 'gpu'"),
    ('runtime', 'xen', r"request\['runtime'\]: unknown runtime 'xen'"),
    ('allowed_runtimes', 8, r"request\['allowed_runtimes'\] must be a runtime mask 0..7"),
    ('allowed_runtimes', ['vm', 'lxc'], r"request\['allowed_runtimes'\]: unknown runtime 'lxc'"),
    ('group', 'a\0b', r"request\['group'\] must not contain NUL"),
    ('metrics', {'cpu': 1}, r"request\['metrics'\]: unknown key 'cpu'"),
    ('metrics', {'util': -math.inf}, r"request\['metrics'\]\['util'\] must be a finite"),
]


class TestRequests:
    def test_all_keys(self, ctx):
        req = {'id': 'web', 'count': 3, 'vcpus': 2, 'memory_mb': 1024, 'workload': 'net',
               'parallelism': 0, 'demand': 0.5, 'runtime': 'auto',
               'allowed_runtimes': ['container', 'vm'], 'group': 'web',
               'metrics': {'util': 0.4}}
        v = ctx.filter_score(req, [EMPTY])
        assert v.passes == [True] and v.runtimes == ['container'] and v.added == 0.5

    @pytest.mark.parametrize('key,value,exc,msg', BAD_TYPES)
    def test_bad_type_names_key(self, ctx, key, value, exc, msg):
        with pytest.raises(exc, match=msg):
            ctx.filter_score(dict(CPU2, **{key: value}), [EMPTY])

    @pytest.mark.parametrize('key,value,msg', BAD_VALUES)
    def test_bad_value_names_key(self, ctx, key, value, msg):
        with pytest.raises(ValueError, match=msg):
            ctx.filter_score(dict(CPU2, **{key: value}), [EMPTY])

    def test_unknown_and_missing_keys(self, ctx):
        with pytest.raises(ValueError, match="request: unknown key 'vcpu'"):
            ctx.resolve({'vcpu': 2})
        with pytest.raises(ValueError, match="request: missing required key 'vcpus'"):
            ctx.resolve({'id': 'x'})
        with pytest.raises(TypeError, match='request must be a dict, not tuple'):
            ctx.resolve(('vcpus', 2))

    def test_number_types(self, ctx):
        class Half:
            def __float__(self):
                return 0.5
        import decimal
        import fractions
        for vcpus in (2, 2.0, decimal.Decimal('2'), fractions.Fraction(4, 2)):
            assert ctx.resolve({'vcpus': vcpus, 'workload': 'cpu'}) == ('cpu', 2.0)
        assert ctx.resolve({'vcpus': 1, 'workload': 'net', 'demand': Half()})[1] == 0.5


# ---- filter_score and Verdicts ---------------------------------------------------

class TestFilterScore:
    def test_verdicts(self, ctx):
        hosts = [EMPTY, (8, 7.5, -1, 7, 0), (8.0, 2, 100.0, lp.RUNTIME_CONTAINER, 0),
                 (8, 4, 1024, 7, 0)]
        req = dict(CPU2, memory_mb=2048)
        v = ctx.filter_score(req, hosts)
        assert isinstance(v, lp.Verdicts) and len(v) == 4
        assert v.passes == [True, False, False, False]
        assert v.reasons == ['ok', 'parallelism', 'runtime', 'memory']
        assert v.runtimes[0] == 'unikernel' and v.runtimes[2] is None
        assert v.scores[0] > 0 and v.scores[1:] == [0.0, 0.0, 0.0]
        assert (v.klass, v.added, v.best()) == ('cpu', 2.0, 0)
        assert v.explain(0).startswith('pass: demand 0.00 + 2.00 = 2.00 <= cap 8.00')
        assert v.explain(1).startswith('fail parallelism: demand 7.50 + 2.00 = 9.50 > cap 8.00')
        assert v.explain(-2).startswith('fail runtime')
        assert 'fail memory: needs 2048 MB, 1024 MB free' in v.explain(3)
        assert v.scores is v.scores  # built once

    def test_scores_order_and_best(self, ctx):
        v = ctx.filter_score(CPU2, [(8, 6, -1, 7, 0), (8, 2, -1, 7, 0), (8, 4, -1, 7, 0)])
        assert v.best() == 1
        assert v.scores[1] > v.scores[2] > v.scores[0]

    def test_group_terms(self, ctx):
        net = {'vcpus': 2, 'workload': 'net', 'demand': 0.5, 'group': 'web'}
        v = ctx.filter_score(net, [EMPTY, (8, 0.5, -1, 7, 1)])
        assert v.best() == 1  # co-location bonus
        spread = dict(CPU2, group='spark')
        v = ctx.filter_score(spread, [(8, 2, -1, 7, 1), (8, 2, -1, 7, 0)])
        assert v.best() == 1  # cpu group members are spread

    def test_empty_hosts(self, ctx):
        v = ctx.filter_score(CPU2, [])
        assert len(v) == 0 and v.passes == [] and v.best() == -1
        assert (v.klass, v.added) == ('cpu', 2.0)
        with pytest.raises(IndexError, match='out of range for 0 hosts'):
            v.explain(0)

    def test_host_sequences(self, ctx):
        Host = collections.namedtuple('Host', 'threads demand memory_free_mb runtimes group')
        hosts = [Host(8, 0, -1, 7, 0), [8, 0, -1, 7, 0], range(1, 6)]
        assert ctx.filter_score(CPU2, hosts).passes == [True, True, False]
        assert ctx.filter_score(CPU2, (h for h in [EMPTY])).passes == [True]

    @pytest.mark.parametrize('hosts,exc,msg', [
        (None, TypeError, 'hosts must be a sequence of 5-tuples'),
        ([EMPTY, 8], TypeError, r'hosts\[1\] must be a 5-tuple, not int'),
        ([EMPTY, 'abcde'], TypeError, r'hosts\[1\] must be a 5-tuple, not str'),
        ([(8, 0, -1, 7)], ValueError, r'hosts\[0\] must have 5 fields .* not 4'),
        ([(8, '0', -1, 7, 0)], TypeError, r'hosts\[0\] field 1 \(demand\) must be a number, not str'),
        ([(8, 0, None, 7, 0)], TypeError, r'hosts\[0\] field 2 \(memory_free_mb\) must be a number'),
        ([EMPTY, (8, 0, -1, 7.0, 0)], TypeError, r'hosts\[1\] field 3 \(runtimes_mask\) must be an int mask, not float'),
        ([(8, 0, -1, 9, 0)], ValueError, r'hosts\[0\] field 3 \(runtimes_mask\) must be a runtime mask 0..7'),
        ([(8, 0, -1, 7, math.nan)], ValueError, r'hosts\[0\] field 4 \(group_members\) must be a finite'),
        ([(8, 10 ** 400, -1, 7, 0)], OverflowError, 'too large'),
    ])
    def test_bad_hosts(self, ctx, hosts, exc, msg):
        with pytest.raises(exc, match=msg):
            ctx.filter_score(CPU2, hosts)

    def test_c_rejects_host_numbers(self, ctx):
        with pytest.raises(lp.Error, match=r'host load \[1\]: threads') as e:
            ctx.filter_score(CPU2, [EMPTY, (0, 0, -1, 7, 0)])
        assert e.value.status == 'invalid argument'
        assert not isinstance(e.value, ValueError)

    def test_explain_index_errors(self, ctx):
        v = ctx.filter_score(CPU2, [EMPTY])
        with pytest.raises(IndexError):
            v.explain(1)
        with pytest.raises(TypeError):
            v.explain('0')

    def test_verdicts_not_constructible(self):
        with pytest.raises(TypeError):
            lp.Verdicts()

    def test_threads_share_a_context(self, ctx):
        hosts = [(8, i % 9, -1, 7, 0) for i in range(2000)]
        expect = ctx.filter_score(CPU2, hosts).passes
        results, errors = [], []

        def work():
            try:
                for k in range(20):
                    ctx.set('weight_spread', 0.5)
                    results.append(ctx.filter_score(CPU2, hosts).passes == expect)
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(results) == 80 and all(results)


# ---- Cluster and parse_requests ------------------------------------------------------

class TestCluster:
    def test_empty(self):
        c = lp.Cluster()
        assert len(c) == 0 and c.hosts() == [] and c.loads() == [] and c.names() == []
        assert json.loads(c.to_json()) == {'hosts': []}
        with pytest.raises(TypeError, match='takes no arguments'):
            lp.Cluster(hosts=[])

    def test_testbed(self, testbed):
        assert len(testbed) == 4
        assert testbed.names() == ['pc1', 'pc2', 'pc3', 'pc4']
        assert testbed.loads() == [(8.0, 0.0, 16384.0, 7, 0.0)] * 4
        h = testbed.hosts()[0]
        assert h['host'] == 'pc1' and h['cpu']['threads'] == 8
        assert h['runtimes'] == ['container', 'unikernel', 'vm']
        again = lp.Cluster.from_json(testbed.to_json(pretty=True))
        assert again.hosts() == testbed.hosts()
        assert '\n' in testbed.to_json(pretty=True) and '\n' not in testbed.to_json()

    def test_add_snapshot_and_group_loads(self):
        c = lp.Cluster()
        w = {'id': 'w1', 'runtime': 'container', 'vcpus': 2, 'threads': 10, 'demand': 0.5,
             'util': 0.4, 'net_bps': 4e7, 'class': 'net', 'confidence': 0.9, 'group': 'web'}
        c.add_snapshot_json(json.dumps(snapshot('a', demand=0.5, workloads=[w])))
        c.add_snapshot_json(json.dumps(snapshot('b', runtimes=['vm'])).encode(), origin='b')
        assert len(c) == 2
        assert [t[4] for t in c.loads(group='web')] == [1.0, 0.0]
        assert [t[3] for t in c.loads()] == [7, lp.RUNTIME_VM]
        assert c.hosts()[0]['workloads'][0]['group'] == 'web'

    def test_add_errors_leave_cluster_unchanged(self, testbed):
        with pytest.raises(lp.Error, match='pc1') as e:
            testbed.add_snapshot_json(json.dumps(snapshot('pc1')))
        assert not isinstance(e.value, lp.ParseError)
        with pytest.raises(lp.ParseError, match=r'^agent-x:') as e:
            testbed.add_snapshot_json('{"schema": "libplacement/snapshot/v1", ', origin='agent-x')
        assert isinstance(e.value, ValueError) and e.value.status == 'parse error'
        with pytest.raises(lp.ParseError, match=r'snap\.json: .*cpu\.threads'):
            testbed.add_snapshot_json(json.dumps(snapshot('new', threads=0)), origin='snap.json')
        assert len(testbed) == 4

    def test_from_json_errors(self):
        with pytest.raises(lp.ParseError, match=r'f\.json: hosts\[0\]'):
            lp.Cluster.from_json('{"hosts": [1]}', origin='f.json')
        with pytest.raises(lp.ParseError, match='<input>'):
            lp.Cluster.from_json('{"hosts": []} trailing')
        with pytest.raises(TypeError):
            lp.Cluster.from_json(None)
        with pytest.raises(TypeError):
            lp.Cluster.from_json('{}', origin=5)

    def test_parse_requests(self, ctx):
        rs = lp.parse_requests(example('requests-spark.json'), origin='spark.json')
        assert rs == [{'id': 'spark-pi', 'count': 16, 'vcpus': 2.0, 'memory_mb': 2048.0,
                       'workload': 'cpu', 'parallelism': 2.0, 'demand': -1.0,
                       'runtime': 'auto', 'allowed_runtimes': 7, 'group': 'spark-pi',
                       'image': None, 'flavor': None, 'metrics': {}}]
        # what an instance was started from rides along (classes learned per image)
        started = lp.parse_requests('{"requests": [{"id": "web", "image": "tomcat:9",'
                                    ' "flavor": "m1.small"}]}')[0]
        assert (started['image'], started['flavor']) == ('tomcat:9', 'm1.small')
        assert ctx.resolve(started) == ('unknown', 1.0)
        auto = lp.parse_requests(example('requests-auto.json').encode())
        assert auto[0]['metrics']['util'] == 1.9 and auto[0]['workload'] == 'auto'
        assert [ctx.resolve(r)[0] for r in auto] == ['cpu', 'net']  # dicts round-trip

    def test_parse_requests_errors(self):
        with pytest.raises(lp.ParseError, match=r'r\.json: requests\[0\]'):
            lp.parse_requests('{"requests": [{"vcpus": "two"}]}', origin='r.json')
        with pytest.raises(lp.ParseError, match='r.json'):
            lp.parse_requests('[', origin='r.json')
        with pytest.raises(TypeError):
            lp.parse_requests(12)


# ---- place ------------------------------------------------------------------------------

class TestPlace:
    def test_research_testbed_spark(self, ctx, testbed):
        """16 two-vCPU Spark workers: 4 per 8-thread host, as unikernels."""
        plan = ctx.place(testbed, lp.parse_requests(example('requests-spark.json')))
        assert len(plan) == 16
        per_host = collections.Counter(p['host'] for p in plan)
        assert per_host == {'pc1': 4, 'pc2': 4, 'pc3': 4, 'pc4': 4}
        assert {p['runtime'] for p in plan} == {'unikernel'}
        p = plan[0]
        assert (p['request'], p['instance'], p['class'], p['reason']) == ('spark-pi', 0, 'cpu', 'ok')
        assert isinstance(p['score'], float)
        assert sorted(p['terms']) == ['colocate', 'headroom', 'spread']
        assert all(isinstance(t, float) for t in p['terms'].values())
        assert p['explain'].startswith('pass:') and 'refusals' not in p
        assert len(testbed.loads()) == 4 and testbed.loads()[0][1] == 0.0  # unchanged

    def test_seventeenth_worker_is_refused(self, ctx, testbed):
        plan = ctx.place(testbed, lp.parse_requests(example('requests-spark-17.json')),
                         keep_verdicts=True)
        last = plan[-1]
        assert sum(p['host'] is not None for p in plan) == 16
        assert last['host'] is None and last['runtime'] is None
        assert last['reason'] == 'parallelism'
        assert sorted(last['refusals']) == ['pc1', 'pc2', 'pc3', 'pc4']
        assert last['refusals']['pc1'].startswith('fail parallelism: demand 8.00 + 2.00')
        assert plan[0]['refusals'] == {}
        # one line for the log, as kube-scheduler's "0/4 nodes are available"
        assert last['explain'] == '0/4 hosts can take spark-pi#16: 4 parallelism'
        plan = ctx.place(testbed, lp.parse_requests(example('requests-spark-17.json')))
        assert plan[-1]['explain'] == '0/4 hosts can take spark-pi#16'  # reasons not kept

    def test_tomcat_group_lands_together(self, ctx, testbed):
        plan = ctx.place(testbed, lp.parse_requests(example('requests-tomcat.json')))
        assert len({p['host'] for p in plan}) == 1
        assert {p['runtime'] for p in plan} == {'container'}

    def test_request_dicts(self, ctx, testbed):
        plan = ctx.place(testbed, [dict(CPU2, count=2), {'id': 'web', 'vcpus': 1,
                                                           'workload': 'net'}])
        assert [p['request'] for p in plan] == ['spark', 'spark', 'web']

    def test_place_errors(self, ctx, testbed):
        with pytest.raises(TypeError, match='Cluster'):
            ctx.place(testbed.to_json(), [CPU2])
        with pytest.raises(TypeError, match='requests must be a sequence'):
            ctx.place(testbed, None)
        with pytest.raises(ValueError, match=r"requests\[1\]: unknown key 'cpus'"):
            ctx.place(testbed, [CPU2, {'cpus': 1}])
        assert ctx.place(testbed, []) == []
        unplaced = ctx.place(lp.Cluster(), [CPU2])[0]
        assert unplaced['host'] is None
        assert unplaced['explain'] == '0/0 hosts can take spark#0: the cluster has no hosts'


# ---- odd arguments never crash ------------------------------------------------------

ODD = [None, True, -1, 2 ** 70, 1.5, math.nan, 'x', '', b'x', [], (), {}, object(),
       [None] * 5, [(None,) * 5], {'vcpus': None}, {None: 1}, {'vcpus': 2, 'id': b'x'},
       [{'vcpus': 2, 'metrics': []}], range(3)]
EXPECTED = (TypeError, ValueError, OverflowError, IndexError, lp.Error)


def test_odd_arguments(ctx, testbed):
    """Every call with every odd value: a Python exception or a result, never a crash."""
    v = ctx.filter_score(CPU2, [EMPTY])
    calls = [lp.runtime_mask, lp.parse_requests, lp.Cluster.from_json,
             testbed.add_snapshot_json, testbed.loads, testbed.to_json,
             ctx.get, ctx.get_runtime_order, ctx.classify, ctx.resolve, v.explain,
             lambda o: ctx.set(o, 1), lambda o: ctx.set('weight_spread', o),
             lambda o: ctx.set_runtime_order(o, 'vm'), lambda o: ctx.set_runtime_order('cpu', o),
             lambda o: ctx.choose_runtime(o, 7), lambda o: ctx.choose_runtime('cpu', o),
             lambda o: ctx.choose_runtime('cpu', 7, o),
             lambda o: ctx.filter_score(o, [EMPTY]), lambda o: ctx.filter_score(CPU2, o),
             lambda o: ctx.filter_score(CPU2, [o]), lambda o: ctx.place(testbed, o),
             lambda o: ctx.place(testbed, [o]), lambda o: ctx.place(o, [CPU2]),
             lambda o: lp.Context(weight_spread=o)]
    for call in calls:
        for odd in ODD:
            try:
                call(odd)
            except EXPECTED:
                pass
    assert ctx.filter_score(CPU2, [EMPTY]).passes == [True]  # still usable


# ---- leaks ------------------------------------------------------------------------------

class TestLeaks:
    def _flat(self, fn, loops):
        for _ in range(2000):  # warm up caches, free lists and arenas
            fn()
        gc.collect()
        before = rss_kb()
        for _ in range(loops):
            fn()
        gc.collect()
        grown = rss_kb() - before
        if not UNDER_ASAN:  # ASan's quarantine holds freed memory; LSan checks instead
            assert grown < 1024, f'RSS grew {grown} kB over {loops} calls'

    def test_filter_score_loop(self, ctx):
        hosts = [EMPTY, (8, 7.5, 100, 7, 1), (8.0, 2.0, -1, 1, 0)] * 4
        req = {'id': 'r', 'vcpus': 2, 'workload': 'auto', 'group': 'g',
               'metrics': {'util': 1.9, 'threads': 2, 'id': 'w'}}

        def call():
            v = ctx.filter_score(req, hosts)
            v.passes, v.scores, v.runtimes, v.reasons, v.explain(1), v.best()
        self._flat(call, LOOPS)

    def test_error_paths_loop(self, ctx, testbed):
        bad = [({'vcpus': 2, 'group': 'g', 'id': 'x', 'count': 0}, [EMPTY]),
               (CPU2, [EMPTY, (8, 0, -1, 7, 'x')]),
               (CPU2, [EMPTY, (0, 0, -1, 7, 0)])]

        def call():
            for req, hosts in bad:
                try:
                    ctx.filter_score(req, hosts)
                except (TypeError, ValueError, lp.Error):
                    pass
            try:
                testbed.add_snapshot_json('{"hosts": 1}', origin='x')
            except lp.ParseError:
                pass
        self._flat(call, LOOPS // 10)

    def test_place_loop(self, ctx, testbed):
        rs = lp.parse_requests(example('requests-spark-17.json'))
        self._flat(lambda: ctx.place(testbed, rs, keep_verdicts=True), LOOPS // 100)
