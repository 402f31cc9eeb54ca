"""report.md of a run and the short summary printed at the end."""

import statistics

from report import md_table
from simulate import ratio


def write(path, results, foreign_flag):
    info = results['info']
    lines = ['# libplacement evaluation (%s mode)' % info['mode'], '',
             'Run %s on %s (%d CPUs, kernel %s) in %.0f s. Load average at start %s, at end %s.'
             % (info['when'], info['model'], info['cpus'], info['kernel'], info['seconds'],
                info['loadavg'], info['loadavg_end']), '']
    summary = []
    if not info['quiet']:
        lines += ['**The machine was busy when this run started (forced): the real '
                  'measurements below include other work.**', '']
        summary.append('WARNING: machine busy at start (load %s)' % info['loadavg'])
    if 'knees' in results:
        lines += _knees(results, foreign_flag, summary)
    if 'batch' in results:
        lines += _sim(results, summary)
    if 'loop' in results:
        lines += _loop(results['loop'], summary)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return '\n'.join(summary)


def _knees(results, foreign_flag, summary):
    points = results['points']
    flagged = [p for p in points if disturbed(p, foreign_flag)]
    out = ['## Knees on real work', '',
           'Each point: fresh servers in their own cgroups inside one slice, all started '
           'together; libplacement-agent --once measured them during the run. Medians of '
           '%d repeats, min-max in brackets. Figure: knees.png; raw: knee_points.csv, '
           'knee_summary.csv.' % max(p['repeat'] + 1 for p in points), '',
           '![knees](knees.png)', '']
    if flagged:
        out += ['**%d of %d points were disturbed**: others used more than %.1f CPU of the '
                'slice while its servers got less CPU than they could use (column "others" '
                'gives the largest use of the slice\'s CPUs by others per row): their numbers '
                'are suspect.' % (len(flagged), len(points), foreign_flag), '']
        summary.append('WARNING: %d of %d knee points disturbed by other load'
                       % (len(flagged), len(points)))
    else:
        out += ['No point was disturbed: whenever others used more than %.1f CPU of the '
                'slice\'s CPUs, the servers had all the CPU they could use (largest use by '
                'others: %.2f CPU; largest load average seen: %.2f).'
                % (foreign_flag, max(p['foreign_cpu'] for p in points),
                   max(p['load1'] for p in points)), '']
    for e in results['knees']:
        out += ['### %s' % e['title'], '']
        if e['name'] == 'web':
            out += ['One server alone costs %.0f µs of CPU per reply; each server is offered '
                    '%.0f requests/s (sized so that one server keeps about a quarter of the '
                    'slice busy).' % (e['cost_us'], e['rate']), '']
        out.append(md_table(e['rows'], [
            ('servers', 'servers'),
            ('throughput', lambda r, s=e['unit_scale']: '%.4g [%.4g-%.4g]' % (
                r['throughput'] / s, r['throughput_min'] / s, r['throughput_max'] / s)),
            ('agent demand', lambda r: '%.2f [%.2f-%.2f]' % (r['demand'], r['demand_min'],
                                                             r['demand_max'])),
            ('wait ratio', lambda r: '%.2f' % r['wait_ratio']),
            ('class', lambda r: ','.join(r['classes'])),
            ('others (CPU)', lambda r: '%.2f' % r['foreign_cpu_max'])]))
        knee = e['knee'] or '> %d' % e['rows'][-1]['servers']
        reached = e['reached'] or '> %d' % e['rows'][-1]['servers']
        vcpu_fit = e['rows'][0]['threads'] // e['rows'][0]['server_threads']
        out += ['', '(throughput in %s)' % e['unit'], '',
                '- throughput stops rising after **%s** servers; the agent\'s demand reaches '
                'the slice\'s %d threads at **%s**; libplacement\'s filter on the measured '
                'demand admits **%s** servers (counting vCPUs: %d).'
                % (knee, e['rows'][0]['threads'], reached, e['cap'], vcpu_fit), '']
        summary.append('%s: knee %s servers, demand = threads at %s, filter admits %s'
                       % (e['name'], knee, reached, e['cap']))
    m = results['model']
    out += ['Knee model fitted to these points (knee_fit.json): k_cpu = %.3f, k_net = %.3f '
            '(speed past the threads = (1 - k (x - 1)) / x, x = demand / threads).'
            % (m.k['cpu'], m.k['net']), '']
    return out


def disturbed(point, foreign_flag):
    """Others used the slice's CPUs (> foreign_flag) while its servers got
    less than they could use (util short of min(demand, threads) by > 0.1):
    idle CPUs that others use do not disturb a measurement."""
    short = min(point['demand'], point['threads']) - point['util']
    return point['foreign_cpu'] > foreign_flag and short > 0.1


def _sim(results, summary):
    model = results['model']
    out = ['## Placement quality at scale (simulation)', '',
           'The same requests, in the same order, under stock Nova 26 (its default '
           'filters and weighers, cpu_allocation_ratio 16), Nova with soft-(anti-)affinity '
           'server groups, libplacement (the C core through the Python module) and the best '
           'placement. Knee model: %s (k_cpu %.3f, k_net %.3f). Raw: sim_*.csv.'
           % (model.source, model.k['cpu'], model.k['net']), '']
    if results['exact']:
        out += ['### Small clusters: exact best placement', '',
                'Research hosts (8 threads, 16 GB), load 1.0 (the requests\' true demand '
                'equals the threads). Best = integer program: no host over its threads, '
                'most instances, then most net groups on one host.', '']
        rows = [r for r in results['exact'] if r['policy'] != 'bound']
        out.append(md_table(rows, _cols(exact=True)))
        out.append('')
    out += ['### Batches: 100 to 10,000 hosts', '',
            '"best" is the upper bound (module simulate: LP over the pooled cluster for '
            'accepted; 0 hosts over, slowdown 1, every net group together, delivered work '
            '<= min(threads, demand)). Ratios: policy / best and libplacement / nova.', '',
            '![batch](sim_batch.png)', '']
    out.append(md_table(results['batch'], _cols()))
    out += ['', '### Arrivals and departures', '',
            'Poisson arrivals, exponential lifetimes, offered true demand 0.8 x threads; '
            'metrics averaged over 200 moments of the second half; libplacement sees '
            'measured demand of instances that have run for 20 arrivals, the class '
            'estimate before.', '', '![trace](sim_trace.png)', '']
    out.append(md_table(results['trace'], _cols(trace=True)))
    out.append('')
    for key, rows in (('batch', results['batch']), ('trace', results['trace'])):
        lp_rows = [r for r in rows if r['policy'] == 'libplacement']
        nova = {(r['hosts'], r['mix'], r['load']): r for r in rows if r['policy'] == 'nova'}
        best = {(r['hosts'], r['mix'], r['load']): r for r in rows if r['policy'] == 'best'}
        if not lp_rows:
            continue
        d_nova = statistics.median(ratio(r['delivered'], nova[(r['hosts'], r['mix'], r['load'])]
                                         ['delivered']) for r in lp_rows)
        over = (max(r['hosts_over_frac'] for r in rows if r['policy'] == 'nova'),
                max(r['hosts_over_frac'] for r in lp_rows))
        line = ('sim %s: delivered work libplacement/nova median %.2f; hosts over threads '
                'nova up to %.1f%%, libplacement up to %.1f%%' % (key, d_nova, 100 * over[0],
                                                                   100 * over[1]))
        if best:
            line += '; accepted libplacement/best median %.3f' % statistics.median(
                ratio(r['accepted_frac'], best[(r['hosts'], r['mix'], r['load'])]
                      ['accepted_frac']) for r in lp_rows)
        summary.append(line)
    return out


def _cols(exact=False, trace=False):
    cols = [('policy', 'policy'), ('hosts', 'hosts')]
    if not exact:
        cols += [('mix', 'mix')]
    if not exact and not trace:
        cols += [('load', 'load')]
    cols += [('accepted', lambda r: '%.3f' % r['accepted_frac']),
             ('hosts over', lambda r: '%.3f' % r['hosts_over_frac']),
             ('job slowdown', lambda r: '%.2f' % r['job_slowdown_mean']),
             ('net groups together', lambda r: '%.2f' % r['together_frac']),
             ('net pairs on one host', lambda r: '%.2f' % r['pairs_frac']),
             ('delivered (CPU)', lambda r: '%.0f' % r['delivered'])]
    if exact:
        cols.append(('optimal', lambda r: {True: 'yes', False: 'no'}.get(r.get('exact'), '')))
    return cols


def _loop(loop, summary):
    out = ['## Closed loop: in-process Nova, real processes', '', loop['text'], '',
           '![loop](closed_loop.png)', '']
    out.append(md_table(loop['rows'], [
        ('group', 'group'), ('placement', 'policy'),
        ('throughput', lambda r: '%.4g [%.4g-%.4g] %s' % (
            r['throughput'], r['throughput_min'], r['throughput_max'], r['unit'])),
        ('of full speed', lambda r: '%.2f' % (r['throughput'] / r['full_speed'])
         if r['full_speed'] else '-'),
        ('placed', 'placed'), ('refused', 'refused'), ('servers per host', 'per_host')]))
    out.append('')
    summary.append(loop['summary'])
    return out
