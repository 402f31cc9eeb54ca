"""The demo's results as text of at most WIDTH columns.

``render(results)`` depends on nothing but its argument (the dict
demo.__main__ assembles from demo.scenarios): the same results give the
same text. The modelled cost of exceeding a host's threads comes from the
knee model of the evaluation (eval/knee_model.py, docs/evaluation.md).
"""

import re
import textwrap

from knee_model import KneeModel

WIDTH = 100
# The knee fit of docs/evaluation.md found no loss beyond time sharing.
MODEL = KneeModel(k_cpu=0.0, k_net=0.0)
SIDES = (('stock', 'stock Nova'), ('plugin', 'the plugin'))


def num(x):
    """8.0 -> '8', 1.75 -> '1.75'."""
    return ('%.2f' % x).rstrip('0').rstrip('.')


def plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def wrap(text, indent='', more='  '):
    """text in lines of at most WIDTH columns; continuation lines are
    indented by more."""
    return textwrap.wrap(text, WIDTH, initial_indent=indent,
                         subsequent_indent=indent + more,
                         break_long_words=False, break_on_hyphens=False)


def wrap_phrases(text, indent='', more='  '):
    """As wrap, but lines break only after a ':', ';' or ',' where they
    can, so that the terms of an explanation (``demand 2.00 + 2.00 =
    4.00``) stay whole."""
    lines = []
    for phrase in re.split(r'(?<=[:;,]) ', text):
        if lines and len(lines[-1]) + 1 + len(phrase) <= WIDTH:
            lines[-1] += ' ' + phrase
        else:
            lines.append((indent + more if lines else indent) + phrase)
    out = []
    for line in lines:
        body = line.lstrip()
        # A phrase longer than a line is broken between its words.
        out += [line] if len(line) <= WIDTH else wrap(
            body, line[:len(line) - len(body)], more)
    return out


def slower(klass, wanted, threads):
    """'~20 %' slower per server on a host wanting more than its threads."""
    return '~%d %%' % round(100 * (1 - MODEL.speed(klass, wanted, threads)))


def over(row):
    return row['wanted'] > row['threads'] + 1e-9


def render(results):
    """The whole report as one string (lines end in a newline)."""
    lines = header(results['testbed'])
    for number, p in enumerate(results['placements'], 1):
        lines += [''] + placement_table(number, p)
    lines += [''] + gains(results['placements'])
    lines += [''] + loop(len(results['placements']) + 1, results['loop'])
    return '\n'.join(lines) + '\n'


def header(testbed):
    return wrap(
        'libplacement demo: the research testbed (%d hosts x %d threads, %d '
        'GB) as an in-process Nova 26 cloud. Each scenario boots its servers '
        'one by one through the Nova API on a fresh cloud, once with the '
        'libplacement plugin (ParallelismFilter, RuntimeFilter, '
        'ParallelismWeigher), once with stock Nova (its default filters and '
        'weighers).' % (testbed['hosts'], testbed['threads'],
                        testbed['memory_gb']), more='') + wrap(
        'threads wanted: the parallel work of a host\'s servers as the plugin '
        'counts it from their flavors (cpu class: a thread per vCPU; net '
        'class: half a thread per vCPU). runtime: the plugin\'s choice for '
        'the class; stock Nova boots every server as the hypervisor\'s VM.',
        more='')


def _threads(row):
    return '%s of %d' % (num(row['wanted']), row['threads'])


def _runtime(row):
    return '+'.join(sorted(row['runtimes'])) or '-'


def placement_table(number, p):
    """The scenario's servers, threads wanted and runtimes per host, with
    the plugin and with stock Nova, then the refused servers."""
    sides = (p['plugin'], p['stock'])
    rows = list(zip(*(side['hosts'] for side in sides)))
    totals = tuple({'host': 'all',
                    'servers': sum(h['servers'] for h in side['hosts']),
                    'wanted': sum(h['wanted'] for h in side['hosts']),
                    'threads': sum(h['threads'] for h in side['hosts'])}
                   for side in sides)
    rt_width = max([len('runtime')] +
                   [len(_runtime(h)) for pair in rows for h in pair])
    th_width = max([len('threads wanted')] +
                   [len(_threads(h)) for pair in rows + [totals]
                    for h in pair])
    cell = '%%7s  %%%ds  %%-%ds' % (th_width, rt_width)
    line = '  %-4s   ' + cell + '    ' + cell + '  %s'
    side_width = 7 + 2 + th_width + 2 + rt_width
    out = wrap('%d. %s' % (number, p['title']), more='   ')
    out.append('  %-4s   %-*s    %s' % ('', side_width, 'with the plugin',
                                        'with stock Nova'))
    out.append((line % ('host', 'servers', 'threads wanted', 'runtime',
                        'servers', 'threads wanted', 'runtime', '')).rstrip())
    for ours, stock in rows:
        sides_over = [label for label, h in (('plugin', ours),
                                             ('stock', stock)) if over(h)]
        out.append((line % (
            ours['host'], ours['servers'], _threads(ours), _runtime(ours),
            stock['servers'], _threads(stock), _runtime(stock),
            'over: ' + ', '.join(sides_over) if sides_over else '')).rstrip())
    out.append((line % (
        'all', totals[0]['servers'], _threads(totals[0]), '',
        totals[1]['servers'], _threads(totals[1]), '', '')).rstrip())
    for refused in p['plugin']['refused']:
        out += wrap_phrases('refused with the plugin (libplacement\'s '
                            'summary): %s' % refused['why'], '  ', '    ')
    for refused in p['stock']['refused']:
        out += wrap_phrases('refused by stock Nova: %s: %s' % (
            refused['server'], refused['why']), '  ', '    ')
    for side, label in ((p['plugin'], 'with the plugin'),
                        (p['stock'], 'by stock Nova')):
        if not side['refused']:
            out.append('  refused %s: none' % label)
    return out


def _cost(p, key):
    """What one side's placement costs its servers, in words."""
    side = p[key]
    hosts_over = [h for h in side['hosts'] if over(h)]
    parts = ['%s: %s threads of parallel work on %d -> its %s %s slower '
             'each' % (h['host'], num(h['wanted']), h['threads'],
                       plural(h['servers'], 'server'),
                       slower(p['workload'], h['wanted'], h['threads']))
             for h in hosts_over]
    if not hosts_over:
        parts.append('within every host\'s threads: no slowdown')
    if side['refused']:
        parts.append('%s refused instead' % ', '.join(
            r['server'] for r in side['refused']))
    if p['colocated']:
        parts.append('the group on %s' % plural(
            sum(1 for h in side['hosts'] if h['servers']), 'host'))
    return '; '.join(parts)


def gains(placements):
    """Per scenario, stock Nova next to the plugin: the modelled cost of
    the hosts over their threads."""
    out = wrap('What the cap is worth (modelled with eval/knee_model.py '
               'from the knee measurements, docs/evaluation.md: past its '
               'threads a host is time-shared, k = 0; not measured in this '
               'demo):', more='')
    label_width = max(len(p['short']) for p in placements)
    for p in placements:
        for i, (key, label) in enumerate(SIDES):
            lead = '  %-*s  %-10s  ' % (label_width, '' if i else p['short'],
                                        label)
            out += wrap_phrases(lead + _cost(p, key), more=' ' * (
                len(lead) + 2))
    return out


def _booted(booted):
    """'batch-1 on pc3, ...; shop-1..4 on pc3' from {server: host}."""
    series = {}
    for name in sorted(booted):
        series.setdefault(name.rsplit('-', 1)[0], []).append(name)
    parts = []
    for names in series.values():
        hosts = {booted[n] for n in names}
        if len(hosts) == 1 and len(names) > 1:
            parts.append('%s..%s on %s' % (
                names[0], names[-1].rsplit('-', 1)[1], hosts.pop()))
        else:
            parts.append(', '.join('%s on %s' % (n, booted[n])
                                   for n in names))
    return '; '.join(parts)


def loop(number, r):
    """The loop: a host over its cap, the plan, the migrations, after."""
    plan, again = r['plan'], r['again']
    out = wrap('%d. The loop: measured demand grows after placement; the '
               'planner moves work back within the caps' % number, more='   ')
    out += wrap('Booted with the plugin: %s. Then the agents (over HTTP, '
                'fetched by the scheduler) measure %s.' % (
                    _booted(r['booted']), ', '.join(
                        'each %s server at %s threads' % (name, num(demand))
                        for name, demand in sorted(r['agents'].items()))),
                indent='  ', more='')
    out.append('  host  threads there  wanted at boot  measured  after the '
               'plan')
    for boot, now, after in zip(r['declared'], r['measured'], r['after']):
        out.append(('  %-4s  %13d  %14s  %8s  %14s  %s' % (
            boot['host'], boot['threads'], num(boot['wanted']),
            num(now['wanted']), num(after['wanted']),
            'over its cap' if over(now) else '')).rstrip())
    out += wrap('Plan (Context.rebalance on the cluster as the scheduler '
                'sees it: its agents\' snapshots, flavors and groups): %s%s; '
                'hosts over their cap %d -> %d.' % (
                    plural(len(plan['moves']), 'move'),
                    ', proven optimal' if plan['optimal'] else '',
                    plan['hosts_over_before'], plan['hosts_over_after']),
                indent='  ', more='')
    for text in [m['explain'] for m in plan['moves']] + plan['why']:
        out += wrap_phrases(text, '    ', '  ')
    for m in r['migrations']:
        out += wrap_phrases(
            'Executed through the Nova API (the scheduler checks the '
            'destination): os-migrateLive %s to %s: %s %s, %s on %s.' % (
                m['server'], m['destination'], m['type'], m['status'],
                m['state'], m['host']), '  ', '')
    before = [h for h in r['measured'] if over(h)]
    after = [h for h in r['after'] if over(h)]
    out += wrap('Modelled as above: %s before the plan, %s after it. Planned '
                'again: %s; hosts over their cap: %d.' % (
                    '; '.join('%s\'s %s %s slower each (%s threads on %d)' % (
                        h['host'], plural(h['servers'], 'server'),
                        slower('mixed', h['wanted'], h['threads']),
                        num(h['wanted']), h['threads']) for h in before)
                    or 'no slowdown',
                    '; '.join('%s %s threads on %d' % (
                        h['host'], num(h['wanted']), h['threads'])
                        for h in after) or 'no slowdown',
                    plural(len(again['moves']), 'move'),
                    again['hosts_over_before']),
                indent='  ', more='')
    return out
