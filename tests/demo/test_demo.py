"""make demo: its report from fixed results, and two real runs of it.

The report tests feed demo.report results shaped as demo.scenarios makes
them. The run tests start ``python3 -m demo`` twice at once, from callers
with different hash seeds, and check that both print the same report, of at
most 100 columns, whose numbers are what the in-process clouds did.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

from demo import report

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# Hang guard for one run of the demo on a loaded machine, not a speed limit.
RUN_DEADLINE_S = 1800
UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}')
TIMING = re.compile(r'\b\d+(\.\d+)? ?(s|ms|sec|seconds|minutes?)\b')
SPARK_REFUSAL = '0/4 hosts can take spark-17#0: 4 parallelism'


def hosts(servers, wanted, runtime):
    """Host rows of pc1.. from per-host server counts and threads wanted."""
    return [{'host': 'pc%d' % i, 'threads': 8, 'servers': n,
             'wanted': float(w), 'runtimes': {runtime: n} if n else {}}
            for i, (n, w) in enumerate(zip(servers, wanted), 1)]


def loads(wanted):
    return [{'host': 'pc%d' % i, 'threads': 8, 'servers': 0, 'wanted': w}
            for i, w in enumerate(wanted, 1)]


def fixed_results():
    """What the demo's clouds produce, with stock Nova's extra Spark worker
    on pc2 and a second refusal, so that no value is the real run's."""
    loop_loads = {'declared': [2.0, 2.0, 6.0, 2.0],
                  'measured': [2.0, 2.0, 9.0, 2.0],
                  'after': [4.0, 2.0, 7.0, 2.0]}
    loop = {k: loads(v) for k, v in loop_loads.items()}
    loop['measured'][2]['servers'] = 5
    loop.update({
        'booted': {'batch-1': 'pc3', 'batch-2': 'pc2', 'batch-3': 'pc4',
                   'batch-4': 'pc1', 'shop-1': 'pc3', 'shop-2': 'pc3',
                   'shop-3': 'pc3', 'shop-4': 'pc3'},
        'agents': {'batch': 1.9, 'shop': 1.75},
        'plan': {'moves': [{
            'workload': 'batch-1', 'source': 'pc3', 'destination': 'pc1',
            'explain': 'move batch-1 (class cpu, reserves 2.00) from pc3 '
                       '(demand 9.00 > cap 8.00) to pc1: demand 2.00 + 2.00 '
                       '= 4.00 <= cap 8.00'}],
            'optimal': True, 'hosts_over_before': 1, 'hosts_over_after': 0,
            'why': []},
        'migrations': [{'server': 'batch-1', 'source': 'pc3',
                        'destination': 'pc1', 'type': 'live-migration',
                        'status': 'completed', 'state': 'ACTIVE',
                        'host': 'pc1'}],
        'again': {'moves': [], 'optimal': True, 'hosts_over_before': 0,
                  'hosts_over_after': 0, 'why': []}})
    return {
        'testbed': {'hosts': 4, 'threads': 8, 'memory_gb': 16},
        'placements': [
            {'short': 'Spark pi', 'colocated': False, 'workload': 'cpu',
             'title': 'Spark pi: 18 workers (cpu class, 2 threads each)',
             'plugin': {'hosts': hosts([4, 4, 4, 4], [8, 8, 8, 8],
                                       'unikernel'),
                        'refused': [
                            {'server': 'spark-17', 'why': SPARK_REFUSAL},
                            {'server': 'spark-18', 'why':
                             '0/4 hosts can take spark-18#0: 4 parallelism'}]},
             'stock': {'hosts': hosts([4, 6, 4, 4], [8, 12, 8, 8], 'vm'),
                       'refused': []}},
            {'short': 'Tomcat', 'colocated': True, 'workload': 'net',
             'title': 'Tomcat: 6 web servers (net class, group tomcat)',
             'plugin': {'hosts': hosts([0, 0, 6, 0], [0, 0, 6, 0],
                                       'container'), 'refused': []},
             'stock': {'hosts': hosts([1, 2, 2, 1], [1, 2, 2, 1], 'vm'),
                       'refused': []}}],
        'loop': loop}


def words(text):
    """Each line as its words."""
    return [line.split() for line in text.splitlines()]


def check_form(text):
    lines = text.splitlines()
    assert lines and text.endswith('\n')
    too_long = [line for line in lines if len(line) > 100]
    assert not too_long, too_long
    assert not [line for line in lines if line != line.rstrip()]
    assert not UUID.search(text)
    assert not TIMING.search(text), TIMING.search(text).group(0)
    assert text.count('not measured in this demo') == 1


# ---- the report from fixed results ----------------------------------------

def test_report_tables_carry_the_numbers_per_host():
    text = report.render(fixed_results())
    check_form(text)
    rows = words(text)
    # host, plugin: servers, wanted of threads, runtime; stock: the same
    assert ['pc2', '4', '8', 'of', '8', 'unikernel',
            '6', '12', 'of', '8', 'vm', 'over:', 'stock'] in rows
    assert ['pc1', '4', '8', 'of', '8', 'unikernel',
            '4', '8', 'of', '8', 'vm'] in rows
    assert ['all', '16', '32', 'of', '32', '18', '36', 'of', '32'] in rows
    assert ['pc3', '6', '6', 'of', '8', 'container',
            '2', '2', 'of', '8', 'vm'] in rows
    assert ['pc1', '0', '0', 'of', '8', '-', '1', '1', 'of', '8', 'vm'] in rows
    lines = text.splitlines()
    for n in (17, 18):
        assert ("  refused with the plugin (libplacement's summary): "
                "0/4 hosts can take spark-%d#0: 4 parallelism" % n) in lines
    assert lines.count('  refused by stock Nova: none') == 2
    assert lines.count('  refused with the plugin: none') == 1


def test_report_states_the_modelled_cost_next_to_the_plugin():
    text = report.render(fixed_results())
    lines = text.splitlines()
    # 12 threads of parallel work on 8: each server gets 8/12 of a thread.
    assert ('  Spark pi  stock Nova  pc2: 12 threads of parallel work on 8 '
            '-> its 6 servers ~33 % slower each') in lines
    assert ("            the plugin  within every host's threads: no "
            "slowdown; spark-17, spark-18 refused instead") in lines
    assert ("  Tomcat    stock Nova  within every host's threads: no "
            "slowdown; the group on 4 hosts") in lines
    assert ("            the plugin  within every host's threads: no "
            "slowdown; the group on 1 host") in lines
    model = [i for i, line in enumerate(lines)
             if line.startswith('What the cap is worth')]
    assert len(model) == 1
    assert 'not measured in this demo' in ' '.join(lines[model[0]:
                                                         model[0] + 2])


def test_report_shows_the_loop():
    lines = report.render(fixed_results()).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('3. '))
    loop = lines[start:]
    text = ' '.join(line.strip() for line in loop)
    assert ('batch-1 on pc3, batch-2 on pc2, batch-3 on pc4, batch-4 on pc1; '
            'shop-1..4 on pc3.') in text
    assert 'each batch server at 1.9 threads, each shop server at 1.75' in text
    rows = words('\n'.join(loop))
    assert ['pc3', '8', '6', '9', '7', 'over', 'its', 'cap'] in rows
    assert ['host', 'threads', 'there', 'wanted', 'at', 'boot', 'measured',
            'after', 'the', 'plan'] in rows
    assert ['pc1', '8', '2', '2', '4'] in rows
    assert '1 move, proven optimal; hosts over their cap 1 -> 0.' in text
    # The explanation breaks between its terms, not inside one.
    assert ('    move batch-1 (class cpu, reserves 2.00) from pc3 (demand '
            '9.00 > cap 8.00) to pc1:') in loop
    assert '      demand 2.00 + 2.00 = 4.00 <= cap 8.00' in loop
    assert ('os-migrateLive batch-1 to pc1: live-migration completed, '
            'ACTIVE on pc1.') in text
    assert ("pc3's 5 servers ~11 % slower each (9 threads on 8) before the "
            "plan, no slowdown after it") in text
    assert 'Planned again: 0 moves; hosts over their cap: 0.' in text


def test_report_depends_only_on_the_results():
    results = fixed_results()
    shuffled = copy.deepcopy(results)
    # Dict order is not what the report sorts by.
    shuffled['loop']['booted'] = dict(reversed(
        list(shuffled['loop']['booted'].items())))
    shuffled['loop']['agents'] = dict(reversed(
        list(shuffled['loop']['agents'].items())))
    assert report.render(results) == report.render(shuffled)
    assert report.render(json.loads(json.dumps(results))) == \
        report.render(results)


def test_report_stays_within_width_with_long_explanations():
    results = fixed_results()
    plan = results['loop']['plan']
    plan['why'] = ['still over its cap after 0 moves: demand 10.00 > cap '
                   '8.00; no host can take spark-1 (class cpu, reserves '
                   '2.00): 2 lack room (most free: pc4, 1.50), 1 lack its '
                   'runtime, 0 lack memory, 1 run its group, 0 are over '
                   'their cap',
                   'x' * 20 + ' ' + 'y' * 30 + ' ' + ' '.join(['word'] * 40)]
    plan['hosts_over_after'] = 1
    results['loop']['after'][2]['wanted'] = 9.5
    text = report.render(results)
    check_form(text)
    assert "no slowdown before the plan" not in text
    assert 'pc3 9.5 threads on 8 after it' in ' '.join(
        line.strip() for line in text.splitlines())


def test_modelled_slowdown_is_the_knee_models():
    assert report.slower('cpu', 8.0, 8) == '~0 %'
    assert report.slower('cpu', 10.0, 8) == '~20 %'
    assert report.slower('net', 16.0, 8) == '~50 %'


def test_phrase_wrap_falls_back_to_words():
    long_phrase = ' '.join(['term'] * 60)
    lines = report.wrap_phrases('a: ' + long_phrase + ', end', '    ', '  ')
    assert all(len(line) <= 100 for line in lines)
    assert ' '.join(line.strip() for line in lines) == \
        'a: ' + long_phrase + ', end'


# ---- two real runs --------------------------------------------------------

@pytest.fixture(scope='module')
def runs():
    """Two runs of python3 -m demo, side by side: [(stdout, results)]."""
    with tempfile.TemporaryDirectory(prefix='lp-demo-test-') as workdir:
        yield run_twice(workdir)


def run_twice(workdir):
    """Start both runs, then wait for both; stop them on any failure."""
    started = []
    try:
        # Callers with different hash seeds: the demo sets its own.
        for i, seed in enumerate(('random', '12345')):
            out = os.path.join(workdir, 'results-%d.json' % i)
            started.append((subprocess.Popen(
                [sys.executable, '-m', 'demo', '--json', out], cwd=TOP,
                env=dict(os.environ, PYTHONHASHSEED=seed),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                out))
        done = []
        for proc, out in started:
            try:
                stdout, stderr = proc.communicate(timeout=RUN_DEADLINE_S)
            except subprocess.TimeoutExpired:
                pytest.fail('the demo hung for %d s' % RUN_DEADLINE_S)
            assert proc.returncode == 0, stderr[-4000:]
            assert 'Traceback' not in stderr, stderr[-4000:]
            with open(out) as f:
                done.append((stdout, json.load(f)))
        return done
    finally:
        for proc, _out in started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_runs_print_the_same_report_of_their_results(runs):
    (first, results), (second, _) = runs
    assert first == second
    check_form(first)
    assert first == report.render(results)


def test_placement_with_the_plugin_keeps_every_host_within_its_threads(runs):
    spark, tomcat = runs[0][1]['placements']
    plugin = spark['plugin']
    assert [(h['servers'], h['wanted'], h['runtimes']) for h in
            plugin['hosts']] == [(4, 8.0, {'unikernel': 4})] * 4
    assert plugin['refused'] == [{'server': 'spark-17', 'why': SPARK_REFUSAL}]
    shop = [h for h in tomcat['plugin']['hosts'] if h['servers']]
    assert [(h['servers'], h['wanted'], h['runtimes']) for h in shop] == \
        [(6, 6.0, {'container': 6})]
    assert tomcat['plugin']['refused'] == []


def test_stock_nova_oversubscribes_one_host(runs):
    spark, tomcat = runs[0][1]['placements']
    stock = spark['stock']
    assert sorted((h['servers'], h['wanted']) for h in stock['hosts']) == \
        [(4, 8.0)] * 3 + [(5, 10.0)]
    assert stock['refused'] == []
    assert all(h['runtimes'] == {'vm': h['servers']} for h in stock['hosts'])
    assert sum(h['servers'] for h in tomcat['stock']['hosts']) == 6
    assert sum(1 for h in tomcat['stock']['hosts'] if h['servers']) > 1
    over = next(h['host'] for h in stock['hosts'] if h['wanted'] > 8)
    assert ('  Spark pi  stock Nova  %s: 10 threads of parallel work on 8 '
            '-> its 5 servers ~20 %% slower each' % over) in \
        runs[0][0].splitlines()


def test_loop_moves_work_off_the_host_over_its_cap(runs):
    loop = runs[0][1]['loop']
    booted = loop['booted']
    shop_host = booted['shop-1']
    assert {booted['shop-%d' % i] for i in range(1, 5)} == {shop_host}
    assert sorted(booted['batch-%d' % i] for i in range(1, 5)) == \
        ['pc1', 'pc2', 'pc3', 'pc4']
    wanted = {k: {h['host']: h['wanted'] for h in loop[k]}
              for k in ('declared', 'measured', 'after')}
    # 4 shop servers declared at 1 thread each, measured at 1.75, and a
    # batch server of 2: 6, then 9 on 8 threads.
    assert wanted['declared'][shop_host] == 6.0
    assert wanted['measured'][shop_host] == 9.0
    plan = loop['plan']
    assert (plan['hosts_over_before'], plan['hosts_over_after']) == (1, 0)
    (move,) = plan['moves']
    assert move['source'] == shop_host
    assert move['workload'].startswith('batch-')
    assert booted[move['workload']] == shop_host
    (migration,) = loop['migrations']
    assert migration == {
        'server': move['workload'], 'source': shop_host,
        'destination': move['destination'], 'type': 'live-migration',
        'status': 'completed', 'state': 'ACTIVE',
        'host': move['destination']}
    assert wanted['after'][shop_host] == 7.0
    assert wanted['after'][move['destination']] == 4.0
    assert all(w <= 8.0 for w in wanted['after'].values())
    assert loop['again']['moves'] == []
    assert loop['again']['hosts_over_before'] == 0
