#!/usr/bin/python3
"""make eval: does placing by physical parallelism pay?  Measure and report.

    eval/run.py [--mode full|quick|smoke] [--out build/eval] [--force]
                [--parts knee,sim,loop]

Writes OUT/report.md, figures (PNG), raw numbers (CSV) and knee_fit.json,
and prints a short summary.  Modes: full (make eval, about 15 minutes on 2
cores), quick (make eval-quick, about a minute), smoke (make check-eval:
the same code paths on tiny sizes; asserts nothing about speed).

Real measurements want a quiet machine.  Before the knee runs the 1-minute
load average must be at most --max-load (default 1.0 in full mode) or the
run stops (exit 3) unless --force; every point also records the CPU time
others used on the slice's CPUs during it, and the report flags points where
that exceeded 0.1 CPU.  Needs root (cgroups).  Python: /usr/bin/python3 with
PYTHONPATH holding the built libplacement module.
"""

import argparse
import datetime
import os
import platform
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import knee  # noqa: E402
import knee_model  # noqa: E402
import report  # noqa: E402
import simulate  # noqa: E402

MODES = {
    # pi: (threads per server, servers) on a 2-CPU slice; web: servers on 1 CPU
    'full': dict(repeats=3, pi=[(1, range(1, 6)), (2, range(1, 5))], pi_seconds=2.5,
                 web=range(1, 9), web_seconds=5.0, window=1.0, max_load=1.0,
                 batch=[(n, mix, load) for mix in ('research', 'mixed')
                        for load in (0.7, 1.0, 1.3) for n in (100, 1000)] +
                 [(10000, mix, 1.0) for mix in ('research', 'mixed')],
                 exact=[(8, s) for s in (1, 2, 3)], exact_limit=30.0,
                 trace_sizes=[100, 1000], trace_arrivals={100: 3000, 1000: 6000},
                 loop_seconds=8.0, loop_repeats=2),
    'quick': dict(repeats=1, pi=[(1, range(1, 4))], pi_seconds=1.2, web=range(1, 7),
                  web_seconds=2.5, window=0.6, max_load=None,
                  batch=[(n, mix, 1.0) for mix in ('research', 'mixed') for n in (100, 1000)],
                  exact=[(6, 1)], exact_limit=20.0,
                  trace_sizes=[100], trace_arrivals={100: 1500}, loop_seconds=3.0,
                  loop_repeats=1),
    'smoke': dict(repeats=1, pi=[(1, range(1, 3))], pi_seconds=2.5, web=range(1, 3),
                  web_seconds=1.2, window=0.3, max_load=None,
                  batch=[(20, 'mixed', 1.0)], exact=[(4, 1)], exact_limit=10.0,
                  trace_sizes=[20], trace_arrivals={20: 200}, loop_seconds=1.0,
                  loop_repeats=1),
}
FOREIGN_FLAG = 0.1
KNEE_TARGET = 4.0     # web: offered rate per server = 1 / (4 x CPU per reply)


# SIGTERM (make interrupted, a CI timeout) ends the run at its next log
# line, unwinding like an error: the servers, load generators and cgroups
# are removed on the way out.  Not raised from the handler itself, where
# Python may swallow it (a handler interrupting an at-fork hook, a __del__).
_terminated = {'signum': None, 'raised': False}


def _on_sigterm(signum, frame):
    _terminated['signum'] = signum


def log(msg):
    print(msg, flush=True)
    if _terminated['signum'] and not _terminated['raised']:
        _terminated['raised'] = True
        print('eval: terminated (signal %d); removing what the run started'
              % _terminated['signum'], flush=True)
        sys.exit(128 + _terminated['signum'])


def machine_info():
    with open('/proc/loadavg') as f:
        load = f.read().split()[:3]
    return {'when': datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC'),
            'kernel': platform.release(), 'cpus': os.cpu_count(),
            'loadavg': ' '.join(load),
            'model': next((line.split(':', 1)[1].strip()
                           for line in open('/proc/cpuinfo') if line.startswith('model name')),
                          '?')}


# ---- knees ---------------------------------------------------------------------

def run_knees(cfg, args, out):
    import libplacement as lp
    tag = 'eval-%d' % os.getpid()
    bench = knee.Bench(tag, os.path.join('/tmp', 'lp-' + tag), args.agent, args.pi, log)
    all_points, experiments = [], []
    ncpu = os.cpu_count()
    slice_all = '0-%d' % (ncpu - 1)
    try:
        rate1 = knee.workloads.pi_rate_one_thread(bench.top.child('calib'), args.pi)
        bench.top.child('calib').destroy()
        for threads, ns in cfg['pi']:
            ns = list(ns)
            # One server alone runs pi_seconds, long enough that the agent's
            # window (started at once) ends while every server still runs.
            seconds = max(cfg['pi_seconds'], 4 * cfg['window'])
            iterations = int(rate1 * min(threads, ncpu) * seconds)
            points = []
            for rep, n in knee.interleaved(ns, cfg['repeats']):
                p = bench.run_pi_point(n, threads, iterations, slice_all, cfg['window'], rep)
                p['experiment'] = 'pi-%dt' % threads
                log('  pi %d-thread servers: n=%d rep=%d  %.3g it/s  demand %.2f  wait %.2f  '
                    'others %.2f CPU' % (threads, n, rep, p['throughput'], p['demand'],
                                         p['wait_ratio'], p['foreign_cpu']))
                points.append(p)
            experiments.append(_experiment(
                'pi-%dt' % threads, 'Monte-Carlo pi, %d-thread servers' % threads,
                'iterations/s (1e9)', 1e9, 'cpu', points, lp))
            all_points += points
        page_dir = os.path.join(bench.workdir, 'www')
        os.makedirs(page_dir, exist_ok=True)
        knee.workloads.write_page(os.path.join(page_dir, 'index.html'))
        web_slice, client = str(ncpu - 1), '0-%d' % max(0, ncpu - 2)
        cost = bench.web_cost_per_reply(2, web_slice, client, page_dir)
        rate = round(1.0 / (KNEE_TARGET * cost), -1) or 10.0
        log('  web: %.0f us CPU per reply -> %.0f requests/s offered per server'
            % (cost * 1e6, rate))
        points = []
        for rep, n in knee.interleaved(list(cfg['web']), cfg['repeats']):
            p = bench.run_web_point(n, 2, rate, cfg['web_seconds'], web_slice, client,
                                    cfg['window'], rep, page_dir)
            p['experiment'] = 'web'
            log('  web: n=%d rep=%d  %.0f replies/s (offered %.0f)  demand %.2f  wait %.2f  '
                'errors %d  others %.2f CPU' % (n, rep, p['throughput'], p['offered'],
                                                p['demand'], p['wait_ratio'], p['errors'],
                                                p['foreign_cpu']))
            points.append(p)
        exp = _experiment('web', 'static pages (nginx, gzip) under httperf',
                          'replies/s', 1.0, 'net', points, lp)
        exp.update(rate=rate, cost_us=cost * 1e6)
        experiments.append(exp)
        all_points += points
    finally:
        bench.close()
    report.write_csv(os.path.join(out, 'knee_points.csv'), all_points,
                     ['experiment', 'servers', 'repeat', 'threads', 'server_threads',
                      'throughput', 'offered', 'seconds', 'demand', 'util', 'wait_ratio',
                      'classes', 'demand_per_server', 'per_server', 'errors', 'response_ms',
                      'load1', 'foreign_cpu'])
    report.write_csv(os.path.join(out, 'knee_summary.csv'),
                     [dict(r, experiment=e['name']) for e in experiments for r in e['rows']])
    report.knee_figure(os.path.join(out, 'knees.png'), experiments)
    model = knee_model.KneeModel(
        knee_model.fit_k([pt for e in experiments if e['klass'] == 'cpu' for pt in e['speed']]),
        knee_model.fit_k([pt for e in experiments if e['klass'] == 'net' for pt in e['speed']]),
        'fitted to the knee measurements of %s' % machine_info()['when'])
    model.save(os.path.join(out, 'knee_fit.json'))
    return experiments, all_points, model


def _experiment(name, title, unit, scale, klass, points, lp):
    rows = knee_model.summarize(points)
    return {'name': name, 'title': title, 'unit': unit, 'unit_scale': scale,
            'klass': klass, 'rows': rows, 'knee': knee_model.knee(rows),
            'reached': knee_model.demand_reaches(rows),
            'cap': knee_model.cap_servers(rows, klass, lp),
            'speed': knee_model.speed_points(rows)}


# ---- simulation -----------------------------------------------------------------

def run_sim(cfg, out, model):
    import libplacement as lp
    batch, trace, exact = [], [], []
    for n_hosts, seed in cfg['exact']:
        res = simulate.run_batch(n_hosts, 'research', 1.0, seed, lp, model, exact=True,
                                 time_limit=cfg['exact_limit'])
        for policy, m in res.items():
            exact.append(dict(m, policy=policy))
        log('  exact, %d hosts seed %d: best %s in %.1f s' % (
            n_hosts, seed, 'optimal' if res['best'].get('exact') else 'NOT proven optimal',
            res['best'].get('seconds', 0)))
    for n_hosts, mix, load in cfg['batch']:
        res = simulate.run_batch(n_hosts, mix, load, 1, lp, model)
        for policy, m in res.items():
            if policy != 'bound':
                batch.append(dict(m, policy=policy))
        log('  batch %s load %.1f %d hosts: accepted nova %.3f lp %.3f bound %.3f; '
            'hosts over nova %.3f lp %.3f' % (
                mix, load, n_hosts, res['nova']['accepted_frac'],
                res['libplacement']['accepted_frac'], res['best']['accepted_frac'],
                res['nova']['hosts_over_frac'], res['libplacement']['hosts_over_frac']))
    for mix in ('research', 'mixed'):
        for n_hosts in cfg['trace_sizes']:
            res = simulate.run_trace(n_hosts, mix, 0.8, cfg['trace_arrivals'][n_hosts], 1,
                                     lp, model)
            for policy, m in res.items():
                trace.append(dict(m, policy=policy))
            log('  trace %s %d hosts: hosts over nova %.3f lp %.3f; slowdown nova %.2f lp %.2f'
                % (mix, n_hosts, res['nova']['hosts_over_frac'],
                   res['libplacement']['hosts_over_frac'], res['nova']['job_slowdown_mean'],
                   res['libplacement']['job_slowdown_mean']))
    fields = ['policy', 'hosts', 'mix', 'load', 'seed', 'threads', 'instances', 'accepted',
              'accepted_frac', 'hosts_over', 'hosts_over_frac', 'job_slowdown_mean',
              'job_slowdown_p95', 'net_groups', 'net_groups_together', 'together_frac',
              'pairs_frac', 'delivered', 'exact', 'gap', 'seconds', 'arrivals']
    report.write_csv(os.path.join(out, 'sim_exact.csv'), exact, fields)
    report.write_csv(os.path.join(out, 'sim_batch.csv'), batch, fields)
    report.write_csv(os.path.join(out, 'sim_trace.csv'), trace, fields)
    metrics = [('accepted_frac', 'requests accepted'),
               ('hosts_over_frac', 'hosts over threads'),
               ('job_slowdown_mean', 'cpu job slowdown'),
               ('pairs_frac', 'net pairs on one host')]
    report.policy_figure(os.path.join(out, 'sim_batch.png'),
                         [r for r in batch if r['mix'] == 'mixed' and r['load'] == 1.0],
                         metrics, 'batch at load 1.0, mixed host sizes')
    report.policy_figure(os.path.join(out, 'sim_trace.png'),
                         [r for r in trace if r['mix'] == 'mixed'], metrics,
                         'arrivals and departures at load 0.8, mixed host sizes')
    return batch, trace, exact


# ---- main -----------------------------------------------------------------------

def main():
    signal.signal(signal.SIGTERM, _on_sigterm)
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mode', choices=sorted(MODES), default='quick')
    ap.add_argument('--out', default='build/eval')
    ap.add_argument('--agent', default='build/libplacement-agent')
    ap.add_argument('--pi', default='build/eval/pi')
    ap.add_argument('--parts', default='knee,sim,loop')
    ap.add_argument('--force', action='store_true', help='measure even on a busy machine')
    ap.add_argument('--max-load', type=float, default=None)
    ap.add_argument('--wait', type=float, default=0.0,
                    help='seconds to wait for the load average to fall to --max-load')
    args = ap.parse_args()
    cfg = MODES[args.mode]
    parts = set(args.parts.split(','))
    out = report.ensure_dir(args.out)
    max_load = args.max_load if args.max_load is not None else cfg['max_load']
    load1 = knee.load_average()
    deadline = time.monotonic() + args.wait
    while (max_load is not None and load1 > max_load and 'knee' in parts
           and time.monotonic() < deadline):
        log('eval: load average %.2f > %.2f, waiting for a quiet machine (%.0f s left)'
            % (load1, max_load, deadline - time.monotonic()))
        time.sleep(min(30.0, max(1.0, deadline - time.monotonic())))
        load1 = knee.load_average()
    started = time.monotonic()
    info = machine_info()
    info['mode'] = args.mode
    info['quiet'] = max_load is None or load1 <= max_load
    if 'knee' in parts and not info['quiet'] and not args.force:
        print('eval: the machine is busy (load average %.2f > %.2f): real measurements '
              'would measure the others; wait, or --force' % (load1, max_load), file=sys.stderr)
        sys.exit(3)
    results = {'info': info}
    model = knee_model.KneeModel()
    if 'knee' in parts:
        log('== knees on real work (%s)' % info['loadavg'])
        results['knees'], results['points'], model = run_knees(cfg, args, out)
    elif os.path.exists(os.path.join(out, 'knee_fit.json')):
        model = knee_model.KneeModel.load(os.path.join(out, 'knee_fit.json'))
    results['model'] = model
    if 'sim' in parts:
        log('== placement quality at scale (simulation)')
        results['batch'], results['trace'], results['exact'] = run_sim(cfg, out, model)
    if 'loop' in parts:
        log('== closed loop: in-process Nova, real processes')
        import closedloop
        results['loop'] = closedloop.run(cfg, args, out, log)
    info['seconds'] = time.monotonic() - started
    with open('/proc/loadavg') as f:
        info['loadavg_end'] = ' '.join(f.read().split()[:3])
    import writeup
    summary = writeup.write(os.path.join(out, 'report.md'), results, FOREIGN_FLAG)
    log('\n' + summary)
    log('report: %s' % os.path.join(out, 'report.md'))


if __name__ == '__main__':
    main()
