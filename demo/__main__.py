"""python3 -m demo [--json FILE]: run the demo and print its report.

The report (stdout) is the same on every run: hosts in name order, no
times, no UUIDs. While the clouds run, a status line on stderr (when it is
a terminal) says which one. --json FILE also writes the results the report
is made from (demo.scenarios, demo.report).
"""

import argparse
import json
import os
import sys

# Nova breaks ties between equally weighed hosts in the order of a set of
# host names, which follows Python's string hashing: a fixed seed gives the
# same placements on every run.
HASH_SEED = '0'


class Status(object):
    """One line on a terminal, rewritten in place; nothing elsewhere."""

    def __init__(self, stream):
        self.stream = stream if stream.isatty() else None
        self.shown = 0

    def show(self, text):
        if self.stream:
            self.stream.write('\r%-*s\r%s' % (self.shown, '', text))
            self.stream.flush()
            self.shown = len(text)

    def clear(self):
        self.show('')


def run(status):
    """Every scenario, in order: the results for demo.report."""
    from demo import scenarios  # imports Nova: only once the seed is set
    import testbed

    results = {'testbed': {'hosts': len(scenarios.democloud.HOSTS),
                           'threads': testbed.THREADS,
                           'memory_gb': testbed.MEMORY_MB // 1024},
               'placements': []}
    total = 2 * len(scenarios.PLACEMENTS) + 1
    step = 0
    for scenario in scenarios.PLACEMENTS:
        entry = {k: scenario[k] for k in ('title', 'short', 'colocated')}
        entry['workload'] = scenario['flavor']['workload']
        for key, plugin, label in (('plugin', True, 'the plugin'),
                                   ('stock', False, 'stock Nova')):
            step += 1
            status.show('demo: cloud %d of %d: %s with %s ...'
                        % (step, total, scenario['short'], label))
            entry[key] = scenarios.place(scenario, plugin)
        results['placements'].append(entry)
    status.show('demo: cloud %d of %d: the loop ...' % (total, total))
    results['loop'] = scenarios.loop()
    status.clear()
    return results


def main(argv):
    parser = argparse.ArgumentParser(prog='python3 -m demo',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--json', metavar='FILE',
                        help='also write the results as JSON to FILE')
    args = parser.parse_args(argv)
    if os.environ.get('PYTHONHASHSEED') != HASH_SEED:
        os.execve(sys.executable, [sys.executable, '-m', 'demo'] + argv,
                  dict(os.environ, PYTHONHASHSEED=HASH_SEED))
    status = Status(sys.stderr)
    from demo import cloud
    try:
        results = run(status)
    except cloud.CloudFailed as e:
        status.clear()
        sys.exit('demo: %s' % e)
    from demo import report
    sys.stdout.write(report.render(results))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)


if __name__ == '__main__':
    main(sys.argv[1:])
