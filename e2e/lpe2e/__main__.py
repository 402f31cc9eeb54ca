"""make e2e: a real OpenStack on this machine, driven as a user would.

    python3 -m lpe2e --install system|prefix:ROOT|unpacked:ROOT
                     [--only NAME,...] [--keep] [--workdir DIR] [--timeout S]

(run by mk/e2e.mk with PYTHONPATH=e2e, as root). Prints a short report:
each step's time, each scenario's result and what it saw; exit status 0 when
every scenario passed, 1 when one failed, 2 when the cloud could not be
built. Everything started is stopped and removed at the end, on failures
and signals too; the logs of a failed run are kept (the report says where).
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback

from lpe2e import cloud as cloud_mod
from lpe2e import hosts
from lpe2e import install
from lpe2e import procs

HOST_NAMES = ('pc1', 'pc2', 'pc3', 'pc4')


def _interrupt(signum, frame):
    procs.request_stop(signal.Signals(signum).name)


class Report(object):
    """Lines on stdout, each step timed from the start of the run."""

    def __init__(self):
        self.t0 = time.monotonic()

    def line(self, text=''):
        print(text, flush=True)

    def stamp(self):
        s = time.monotonic() - self.t0
        return '%2d:%02d' % (s // 60, s % 60)

    def step(self, title, func, *args):
        started = time.monotonic()
        value = func(*args)
        self.line('[%s] %-62s %6.1f s' % (self.stamp(), title,
                                          time.monotonic() - started))
        return value


def parse_args(argv):
    p = argparse.ArgumentParser(prog='python3 -m lpe2e',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--install', required=True,
                   help='system (installed, e.g. the Debian packages), '
                        'prefix:ROOT (make install PREFIX=/usr/local '
                        'DESTDIR=ROOT) or unpacked:ROOT (the Debian packages '
                        'unpacked into ROOT)')
    p.add_argument('--only', default='',
                   help='comma-separated scenario keys (default: all)')
    p.add_argument('--keep', action='store_true',
                   help='keep the work directory (logs, configuration)')
    p.add_argument('--timeout', type=float, default=600.0,
                   help='hang guard per wait, seconds (default 600)')
    p.add_argument('--workdir', default=os.environ.get('TMPDIR', '/tmp'),
                   help='where the run\'s temporary directory is made')
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('make e2e runs as root: it starts MariaDB, RabbitMQ and '
                 'namespaces, and creates cgroups')
    e2e_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    inst = install.Installation(args.install, e2e_dir)
    # The planner runs in this process: the installation's module.
    sys.path[:0] = inst.python_path
    from lpe2e import scenarios
    wanted = [k for k in args.only.split(',') if k]
    unknown = set(wanted) - {k for k, _t, _f in scenarios.SCENARIOS}
    if unknown:
        sys.exit('--only: unknown scenario(s) %s; known: %s' % (
            ', '.join(sorted(unknown)),
            ', '.join(k for k, _t, _f in scenarios.SCENARIOS)))

    run_id = '%06x' % random.getrandbits(24)
    workdir = tempfile.mkdtemp(prefix='lp-e2e-%s-' % run_id, dir=args.workdir)
    os.makedirs(os.path.join(workdir, 'logs'))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    report = Report()
    sup = procs.Supervisor(os.path.join(workdir, 'logs'), workdir)
    cgroups = hosts.CgroupTree(run_id)
    lxcfs = hosts.Lxcfs(sup, workdir)
    status = 2
    try:
        status = _run(args, wanted, inst, run_id, workdir, report, sup,
                      cgroups, lxcfs, scenarios)
    except procs.Interrupted as e:
        report.line('interrupted by %s' % e)
    except Exception as e:   # the cloud could not be built or died
        trace = os.path.join(workdir, 'logs', 'harness-traceback.txt')
        with open(trace, 'w') as f:
            traceback.print_exc(file=f)
        report.line('FAILED: %s: %s' % (type(e).__name__, e))
        report.line('  (traceback in %s)' % trace)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        _teardown(report, sup, cgroups, lxcfs, workdir,
                  keep=args.keep or status != 0)
    return status


def _run(args, wanted, inst, run_id, workdir, report, sup, cgroups, lxcfs,
         scenarios):
    run = _build(args, inst, run_id, workdir, report, sup, cgroups, lxcfs,
                 scenarios)
    results = []
    for key, title, func in scenarios.SCENARIOS:
        if wanted and key not in wanted:
            continue
        started = time.monotonic()
        try:
            lines, ok, why = func(run), True, ''
        except scenarios.Failed as e:
            lines, ok, why = e.lines, False, str(e)
        except procs.ServiceDied:
            raise
        except Exception as e:   # this scenario's; the next ones still run
            trace = os.path.join(workdir, 'logs', 'scenario-%s.txt' % key)
            with open(trace, 'w') as f:
                traceback.print_exc(file=f)
            lines, ok, why = [], False, '%s: %s (traceback in %s)' % (
                type(e).__name__, e, trace)
        seconds = time.monotonic() - started
        report.line('[%s] %-62s %s %5.1f s' % (
            report.stamp(), title, 'PASS' if ok else 'FAIL', seconds))
        for line in lines:
            report.line(line)
        for note in run.notes:
            report.line('  note: %s' % note)
        del run.notes[:]
        if not ok:
            report.line('  FAILED: %s' % why)
        results.append((key, ok))
        sup.check()
        run.user.delete_all()
    report.line()
    passed = sum(ok for _k, ok in results)
    report.line('[%s] %d of %d scenarios passed%s' % (
        report.stamp(), passed, len(results),
        '' if passed == len(results) else ' (failed: %s)' % ', '.join(
            k for k, ok in results if not ok)))
    return 0 if passed == len(results) else 1


def _build(args, inst, run_id, workdir, report, sup, cgroups, lxcfs,
           scenarios):
    """Start the cloud, step by step; the scenarios' Run."""
    from lpe2e import user as user_mod

    loaded = inst.loaded_files()
    report.line('libplacement end to end: Nova services as separate '
                'processes on MariaDB and RabbitMQ,')
    report.line('%d compute hosts (fake driver, 8 threads each) with a '
                'libplacement-agent each; run %s' % (len(HOST_NAMES), run_id))
    report.line('libplacement: %s' % inst.description)
    report.line('  nova_filter from %s' % loaded['nova_filter'])
    report.line('  libplacement module %s%s' % (
        loaded['libplacement'],
        ', library ' + ', '.join(loaded['shared']) if loaded['shared']
        else ' (core linked in)'))
    report.line()

    second = random.randint(16, 254)
    slices = [hosts.HostSlice(sup, name, '127.%d.0.%d' % (second, i + 1),
                              cgroups, workdir, lxcfs)
              for i, name in enumerate(HOST_NAMES)]
    cloud = cloud_mod.Cloud(workdir, sup, inst, run_id, slices, args.timeout)

    def start_agents():
        if cloud.agent_port is None:
            cloud.agent_port = procs.free_port_on_all(
                [s.address for s in slices])
        cloud.agent_token()
        for s in slices:
            s.start_agent(inst.agent, cloud.agent_port,
                          cloud_mod.AGENT_INTERVAL, cloud.agent_token_file,
                          env=inst.env())
        for s in slices:
            procs.wait_for('%s agent answering' % s.name, s.snapshot,
                           args.timeout, alive=sup.check)

    report.step('MariaDB %s, RabbitMQ %s on 127.0.0.1' % (
        cloud.db.version(), cloud.mq.version()), cloud.start_backing)
    report.step('lxcfs (each host\'s /proc/stat)', lxcfs.start, args.timeout)
    report.step('host slices %s (namespaces, cgroups %s)' % (
        ','.join(HOST_NAMES), cgroups.name),
        lambda: [s.start(args.timeout) for s in slices])
    report.step('agents on %s..%s (sweep every %d s)' % (
        slices[0].address, slices[-1].address.rsplit('.', 1)[1],
        cloud_mod.AGENT_INTERVAL), start_agents)
    report.step('Glance and Neutron stand-ins', cloud.start_standins)
    report.step('placement: database synced, placement-api answering',
                cloud.start_placement)
    report.step('nova: databases synced (api, cell0, cell1), nova-api '
                'answering', cloud.setup_nova)
    mirror = hosts.InstanceMirror(slices)
    user = user_mod.User(cloud.api_url, args.timeout, on_change=mirror.sync)
    report.step('conductor, scheduler, 4 computes started',
                cloud.start_services)
    report.step('computes mapped (nova-manage cell_v2 discover_hosts), up',
                cloud.discover_hosts, user.nova)
    refused = report.step('flavor API refuses libplacement:workload=bogus',
                          user.refused_extra_spec, 'libplacement:workload',
                          'bogus')
    if refused is None:
        raise RuntimeError('nova-api accepted libplacement:workload=bogus: '
                           'the plugin\'s extra-spec validators are not '
                           'loaded')
    report.line('  %s' % refused)
    report.line('[%s] cloud ready' % report.stamp())
    report.line()
    return scenarios.Run(cloud, user, slices, inst, workdir, args.timeout,
                         start_agents, sup.check)


def _teardown(report, sup, cgroups, lxcfs, workdir, keep):
    started = time.monotonic()
    sup.stop_all()
    lxcfs.unmount()
    try:
        cgroups.remove()
    except RuntimeError as e:
        report.line('teardown: %s' % e)
    if keep:
        # The data is large and says nothing a log does not.
        for d in ('mariadb', os.path.join('rabbitmq', 'mnesia')):
            shutil.rmtree(os.path.join(workdir, d), ignore_errors=True)
        report.line('[%s] stopped everything in %.1f s; logs kept in %s/logs'
                    % (report.stamp(), time.monotonic() - started, workdir))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        report.line('[%s] stopped and removed everything in %.1f s' % (
            report.stamp(), time.monotonic() - started))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
