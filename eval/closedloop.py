"""Closed loop: a mixed workload placed by an in-process Nova 26, run for real.

1. Placement.  The research testbed (4 hosts of 8 threads, 16 GB) as an
   in-process Nova cloud (demo.cloud, make demo's: Nova's functional
   fixtures, fake compute driver), once with stock Nova's default filters and
   weighers, once with the libplacement plugin.  The servers are booted through
   the Nova API in arrival order: a web group of net-class servers, then
   Monte-Carlo pi job A (cpu-class workers, one group), then pi job B.  Nova
   runs in a child process (``closedloop.py --place``: eventlet stays out of the
   harness) and prints where each server landed.

2. Realisation.  Each Nova host becomes a cgroup with a CFS quota of
   HOST_CPUS (a fraction of this machine's CPUs) standing for its 8 threads,
   and each 2-vCPU server a child cgroup capped at 2/8 of its host's quota (a
   2-vCPU guest can never use more than 2 of the 8 threads).  This scales the
   testbed's capacity down by 8 / HOST_CPUS; it models time sharing of a host's
   capacity, not parallelism on distinct cores (all hosts share this machine's
   two cores).  pi workers do fixed work sized to take `seconds` at full
   speed; a job's throughput is its iterations divided by the time until its
   last worker ends (a parallel job goes at its slowest worker's pace).  Web
   servers (nginx, 2 workers) are offered a fixed rate by httperf (run outside
   the host cgroups) sized to keep half a vCPU busy.  Both placements run in
   the same invocation, one after the other, alternating.
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_CPUS = 0.4
HOST_THREADS = 8
VCPUS = 2

SCENARIOS = {
    'full': [('web', 'net', 6), ('pi-A', 'cpu', 12), ('pi-B', 'cpu', 6)],
    'quick': [('web', 'net', 4), ('pi-A', 'cpu', 8), ('pi-B', 'cpu', 4)],
    'smoke': [('web', 'net', 2), ('pi-A', 'cpu', 2)],
}


# ---- 1. placement in an in-process Nova (child process) -----------------------

def place_in_nova(scenario, plugin):
    """[(server, group, host or None)] in boot order (runs inside Nova's
    process: imports Nova)."""
    import contextlib
    import io
    import unittest
    from demo import cloud as demo

    results = []

    class Cloud(demo.DemoCloud):
        def runTest(self):
            flavors = {
                'cpu': self._create_flavor(name='pi', vcpu=VCPUS, memory_mb=2048, disk=1,
                                           ephemeral=0, extra_spec={
                                               'libplacement:workload': 'cpu'}),
                'net': self._create_flavor(name='web', vcpu=VCPUS, memory_mb=2048, disk=1,
                                           ephemeral=0, extra_spec={
                                               'libplacement:workload': 'net'}),
            }
            for group, klass, count in scenario:
                for k in range(1, count + 1):
                    name = '%s-%d' % (group, k)
                    body = self._build_server(name=name, image_uuid=demo.IMAGE,
                                              flavor_id=flavors[klass], networks='none')
                    server = self.api.post_server({'server': body, 'os:scheduler_hints': {
                        'libplacement_group': group}})
                    server = self._wait_for_state_change(server, ['ACTIVE', 'ERROR'])
                    host = (server.get('OS-EXT-SRV-ATTR:host')
                            if server['status'] == 'ACTIVE' else None)
                    results.append((name, group, klass, host))

    case = type('Cloud', (Cloud,), {'plugin': plugin, 'results': []})()
    outcome = unittest.TestResult()
    with contextlib.redirect_stderr(io.StringIO()):
        case.run(outcome)
    for _test, trace in outcome.errors + outcome.failures:
        raise RuntimeError('the in-process Nova cloud failed:\n%s' % trace)
    return results


def placements(mode, env):
    """Both placements, from a child /usr/bin/python3 running Nova."""
    out = {}
    for plugin in (False, True):
        r = subprocess.run([sys.executable, os.path.abspath(__file__), '--place', mode,
                            '--plugin' if plugin else '--stock'],
                           capture_output=True, text=True, env=env, timeout=900)
        if r.returncode != 0:
            raise RuntimeError('Nova placement failed (%d): %s' % (r.returncode,
                                                                   r.stderr[-3000:]))
        out['plugin' if plugin else 'stock'] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


# ---- 2. realisation -------------------------------------------------------------

def realise(placement, bench, rate1, web_rate, seconds, page_dir, client_cpus):
    """Run one placement for real; measured throughput per group."""
    import workloads
    hosts = sorted({h for _n, _g, _k, h in placement if h})
    root = bench.top.child('loop')
    client = bench.top.child('loop-client', cpus=client_cpus)
    host_cg = {h: root.child(h, quota=HOST_CPUS) for h in hosts}
    server_cpus = HOST_CPUS * VCPUS / HOST_THREADS
    iterations = int(rate1 * server_cpus * seconds)
    pis, webs = {}, {}
    try:
        for name, group, klass, host in placement:
            if not host:
                continue
            cg = host_cg[host].child(name, quota=server_cpus)
            if klass == 'cpu':
                pis.setdefault(group, []).append(
                    workloads.PiServer(cg, bench.pi, VCPUS, iterations))
            else:
                webs.setdefault(group, []).append(workloads.WebServer(
                    cg, os.path.join(bench.workdir, 'loop-' + name), VCPUS, page_dir))
        t0 = time.monotonic()
        clients = {g: [workloads.HttperfClient(client, w.port, web_rate, seconds) for w in ws]
                   for g, ws in webs.items()}
        for ps in pis.values():
            for p in ps:
                p.start()
        done = {}
        for g, ps in pis.items():
            for p in ps:
                p.result(timeout=seconds * 40 + 60)
            done[g] = time.monotonic() - t0
        web_res = {g: [c.result(timeout=seconds + 120) for c in cs] for g, cs in clients.items()}
    finally:
        for ws in webs.values():
            for w in ws:
                w.stop()
        root.destroy()
        client.destroy()
    out = {}
    for g, ps in pis.items():
        out[g] = {'kind': 'pi', 'unit': 'iterations/s', 'servers': len(ps),
                  'throughput': len(ps) * iterations / done[g],
                  'full_speed': len(ps) * iterations / seconds}
    for g, rs in web_res.items():
        out[g] = {'kind': 'web', 'unit': 'replies/s', 'servers': len(rs),
                  'throughput': sum(r['replies'] / r['duration'] for r in rs),
                  'full_speed': len(rs) * web_rate,
                  'response_ms': statistics.median(r['response_ms'] for r in rs)}
    return out


def run(cfg, args, out, log):
    """The closed-loop part of eval/run.py: rows for the report."""
    import knee
    import report
    import workloads
    mode = args.mode
    scenario = SCENARIOS[mode]
    env = dict(os.environ, EVENTLET_NO_GREENDNS='yes', PYTHONDONTWRITEBYTECODE='1')
    t0 = time.monotonic()
    placed = placements(mode, env)
    log('  Nova placed both in %.0f s' % (time.monotonic() - t0))
    tag = 'loop-%d' % os.getpid()
    bench = knee.Bench(tag, os.path.join('/tmp', 'lp-eval-' + tag), args.agent, args.pi, log)
    ncpu = os.cpu_count()
    client_cpus = '0-%d' % (ncpu - 1)
    try:
        page_dir = os.path.join(bench.workdir, 'www')
        os.makedirs(page_dir, exist_ok=True)
        workloads.write_page(os.path.join(page_dir, 'index.html'))
        rate1 = workloads.pi_rate_one_thread(bench.top.child('calib'), args.pi)
        bench.top.child('calib').destroy()
        cost = bench.web_cost_per_reply(VCPUS, client_cpus, client_cpus, page_dir)
        # Half a vCPU of a 2-vCPU server: 0.5 / 8 of a host's quota.
        web_rate = max(5.0, round(0.5 / HOST_THREADS * HOST_CPUS / cost))
        runs = {'stock': [], 'plugin': []}
        for rep in range(cfg.get('loop_repeats', 2)):
            for policy in (('stock', 'plugin') if rep % 2 == 0 else ('plugin', 'stock')):
                res = realise(placed[policy], bench, rate1, web_rate, cfg['loop_seconds'],
                              page_dir, client_cpus)
                runs[policy].append(res)
                log('  %s rep %d: %s' % (policy, rep, ', '.join(
                    '%s %.3g %s' % (g, r['throughput'], r['unit']) for g, r in sorted(res.items()))))
    finally:
        bench.close()
    rows = []
    groups = [g for g, _k, _c in scenario]
    for policy in ('stock', 'plugin'):
        p = placed[policy]
        for group, klass, count in scenario:
            hosts = [h for _n, g, _k, h in p if g == group and h]
            per_host = ' '.join('%s:%d' % (h, hosts.count(h)) for h in sorted(set(hosts)))
            vals = [r[group]['throughput'] for r in runs[policy] if group in r]
            first = next((r[group] for r in runs[policy] if group in r), None)
            rows.append({
                'policy': 'nova' if policy == 'stock' else 'libplacement',
                'group': group, 'kind': 'pi' if klass == 'cpu' else 'web',
                'unit': first['unit'] if first else '',
                'throughput': statistics.median(vals) if vals else 0.0,
                'throughput_min': min(vals) if vals else 0.0,
                'throughput_max': max(vals) if vals else 0.0,
                'full_speed': first['full_speed'] if first else 0.0,
                'response_ms': first.get('response_ms', '') if first else '',
                'placed': len(hosts), 'refused': count - len(hosts), 'per_host': per_host})
    report.write_csv(os.path.join(out, 'closed_loop.csv'), rows)
    report.loop_figure(os.path.join(out, 'closed_loop.png'), rows, groups)
    text = ('Research testbed in an in-process Nova 26; each host realised as %.1f CPU of '
            'CFS quota for its %d threads, each 2-vCPU server capped at %.2f CPU (a scaled '
            'capacity model, not separate cores). Boot order: %s. Medians of %d runs per '
            'placement, alternating; "full speed" = what the placed servers would deliver '
            'uncontended.' % (HOST_CPUS, HOST_THREADS, HOST_CPUS * VCPUS / HOST_THREADS,
                              ', '.join('%d %s (%s)' % (c, g, k) for g, k, c in scenario),
                              cfg.get('loop_repeats', 2)))
    by = {(r['policy'], r['group']): r for r in rows}
    summary = 'closed loop: ' + '; '.join(
        '%s nova %.3g (%d placed) vs libplacement %.3g (%d placed) %s' % (
            g, by[('nova', g)]['throughput'], by[('nova', g)]['placed'],
            by[('libplacement', g)]['throughput'], by[('libplacement', g)]['placed'],
            by[('nova', g)]['unit']) for g in groups)
    return {'rows': rows, 'text': text, 'summary': summary}


def main():
    """--place MODE --stock|--plugin: print the placement as one JSON line."""
    mode = sys.argv[sys.argv.index('--place') + 1]
    import warnings
    warnings.simplefilter('ignore')
    result = place_in_nova(SCENARIOS[mode], plugin='--plugin' in sys.argv)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
