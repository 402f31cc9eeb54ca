"""The scenarios: what a user does through Nova's REST API, and what must
hold afterwards. Each returns the lines it reports and raises Failed when a
claim does not hold; the cloud is emptied after each one.
"""

import collections
import json
import os
import statistics
import threading
import time

from lpe2e import cloud as cloud_mod
from lpe2e import install
from lpe2e import procs
from lpe2e import rebalance
from lpe2e import schedlog
from lpe2e.user import fault_of, host_of, make_client

CPU_SPECS = {'libplacement:workload': 'cpu'}
NET_SPECS = {'libplacement:workload': 'net'}
PER_HOST = 4          # 2-vCPU cpu servers per 8-thread host
BURST_CLIENTS = 6
BUSY_THREADS = 8
COST_BOOTS = 8


class Failed(AssertionError):
    def __init__(self, message, lines=()):
        super().__init__(message)
        self.lines = list(lines)


def check(condition, message, lines=()):
    if not condition:
        raise Failed(message, lines)


def check_active(servers, lines=()):
    bad = [s for s in servers if s.status != 'ACTIVE']
    check(not bad, 'not ACTIVE: %s' % ', '.join(
        '%s %s (%s)' % (s.name, s.status, fault_of(s) or 'no fault')
        for s in bad), lines)


class Run(object):
    """What the scenarios work with."""

    def __init__(self, cloud, user, slices, installation, workdir, timeout,
                 start_agents, alive):
        self.cloud = cloud
        # Raises when a process of the run died (Supervisor.check).
        self.alive = alive
        # What the harness had to work around, for the report.
        self.notes = []
        self.user = user
        self.slices = slices
        self.inst = installation
        self.workdir = workdir
        self.timeout = timeout
        # Starts (again) every host's agent and waits until they answer.
        self.start_agents = start_agents

    @property
    def hosts(self):
        return [s.name for s in self.slices]

    def spark(self):
        return self.user.flavor('spark', 2, CPU_SPECS)

    def snapshots(self):
        return {s.name: s.snapshot() for s in self.slices}

    def wait_agents_list(self, servers):
        """Wait until every agent lists the ACTIVE servers on its host
        (their QEMU processes) by UUID; return the snapshots.

        An agent that saw an instance's process before it became QEMU
        reports it as its cgroup's workload for good (it identifies a
        process once); such a process is started again, and noted in
        self.notes.
        """
        want = collections.defaultdict(set)
        for s in servers:
            if s.status == 'ACTIVE':
                want[host_of(s)].add(s.id)
        slices = {s.name: s for s in self.slices}
        restarted = {}   # uuid -> wall time of its restart

        def listed():
            snaps = self.snapshots()
            complete = True
            for name, snap in snaps.items():
                ids = {w['id'] for w in snap.get('workloads') or ()}
                for uuid in want[name] - ids:
                    complete = False
                    cgroup = slices[name].instance_cgroup_id(uuid)
                    # A snapshot taken after a restart judges it.
                    if cgroup in ids and \
                            snap.get('time', 0) > restarted.get(uuid, 0):
                        self.notes.append(
                            'the agent of %s reported instance %s as cgroup '
                            '%s (it saw the process before its exec); its '
                            'QEMU was started again' % (name, uuid, cgroup))
                        slices[name].restart_instance(uuid)
                        restarted[uuid] = time.time()
            return snaps if complete else None
        return procs.wait_for('agents listing the instances', listed,
                              self.timeout, interval=1, alive=self.alive)


def per_host_lines(run, servers, snapshots=None):
    by_host = collections.defaultdict(list)
    for s in servers:
        if s.status == 'ACTIVE':
            by_host[host_of(s)].append(s)
    out = []
    for name in run.hosts:
        mine = sorted(by_host[name], key=lambda s: s.name)
        line = '%s: %d servers' % (name, len(mine))
        if mine:
            line += ' (%s)' % ' '.join(s.name for s in mine)
        if snapshots is not None:
            snap = snapshots[name]
            ids = {w['id']: w for w in snap.get('workloads') or ()}
            listed = [ids[s.id] for s in mine if s.id in ids]
            line += ('; agent: %d threads, measured load %.1f, lists %d/%d '
                     'instances by UUID' % (snap['cpu']['threads'],
                                            snap['load']['demand'],
                                            len(listed), len(mine)))
        out.append('  ' + line)
    return out


def error_lines(failed):
    """One line per fault: the servers in ERROR with it."""
    by_fault = collections.defaultdict(list)
    for s in failed:
        by_fault[fault_of(s) or '(no fault recorded)'].append(s.name)
    return ['  ERROR (%d): %s: %s' % (len(names), ' '.join(sorted(names)),
                                       fault)
            for fault, names in sorted(by_fault.items())] or ['  ERROR: none']


def counts(servers):
    return collections.Counter(host_of(s) for s in servers
                               if s.status == 'ACTIVE')


# -- 1 ----------------------------------------------------------------------
def testbed(run):
    """16 cpu servers (2 vCPUs, libplacement:workload=cpu), one request at a
    time: 4 per host on 4 hosts of 8 threads; the 17th: NoValidHost."""
    spark = run.spark()
    servers = [run.user.boot_and_wait('spark-%02d' % i, spark)
               for i in range(1, 17)]
    snaps = run.wait_agents_list(servers)
    lines = per_host_lines(run, servers, snaps)
    check_active(servers, lines)
    c = counts(servers)
    check(all(c[h] == PER_HOST for h in run.hosts),
          'expected %d servers per host, got %s' % (PER_HOST, dict(c)), lines)
    cursor = schedlog.LogCursor(run.cloud.scheduler_log)
    last = run.user.boot_and_wait('spark-17', spark)
    lines.append('  spark-17: %s, %s' % (last.status, fault_of(last) or '-'))
    check(last.status == 'ERROR' and 'No valid host' in fault_of(last),
          'spark-17 should fail with NoValidHost', lines)
    text = cursor.text()
    for name in run.hosts:
        refusal = [schedlog.message(x) for x in
                   schedlog.plugin_host_lines(text, name)
                   if 'ParallelismFilter' in x and ' fail ' in x]
        check(refusal, 'no ParallelismFilter refusal of %s logged for '
              'spark-17' % name, lines)
        if name == run.hosts[0]:
            lines.append('  scheduler log: %s' % refusal[0])
    return lines


# -- 2 ----------------------------------------------------------------------
def burst(run):
    """17 creates sent at once from several client threads: at most 4 per
    host, exactly one ERROR."""
    spark = run.spark()
    names = ['burst-%02d' % i for i in range(1, 18)]
    shares = [names[i::BURST_CLIENTS] for i in range(BURST_CLIENTS)]
    gate = threading.Barrier(BURST_CLIENTS)
    ids, errors = [], []

    def client(share):
        nova = make_client(run.user.api_url)
        gate.wait()
        for name in share:
            try:
                ids.append(run.user.boot(name, spark.id, client=nova).id)
            except Exception as e:  # reported below
                errors.append('%s: %s' % (name, e))
    threads = [threading.Thread(target=client, args=(s,)) for s in shares]
    cursor = schedlog.LogCursor(run.cloud.scheduler_log)
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(run.timeout)
    sent = time.monotonic() - started
    check(not errors, 'create requests failed: %s' % '; '.join(errors))
    servers = list(run.user.wait_settled(ids, 'burst').values())
    c = counts(servers)
    failed = [s for s in servers if s.status == 'ERROR']
    lines = ['  17 creates from %d client threads, all accepted within %.1f s'
             % (BURST_CLIENTS, sent)] + per_host_lines(run, servers)
    lines += error_lines(failed)
    refusals = [schedlog.message(x) for x in cursor.text().splitlines()
                if 'ParallelismFilter: host' in x and ' fail ' in x]
    if refusals:
        lines.append('  first refusal in the scheduler log: %s' % refusals[0])
    over = {h: n for h, n in c.items() if n > PER_HOST}
    check(not over, 'cap exceeded: %s' % ', '.join(
        '%s has %d servers (%d x 2 vCPUs > 8 threads)' % (h, n, n)
        for h, n in sorted(over.items())), lines)
    check(len(failed) == 1, 'expected exactly one ERROR, got %d'
          % len(failed), lines)
    return lines


# -- 3 ----------------------------------------------------------------------
def measured(run):
    """Busy work nobody scheduled runs in one host's slice: its agent
    measures it, and new servers avoid that host."""
    busy = run.slices[2]
    busy.start_busy(BUSY_THREADS)
    try:
        snap = procs.wait_for(
            '%s measured busy' % busy.name,
            lambda: _busy_snapshot(busy), run.timeout, interval=1)
        lines = ['  %s: %d busy loops (nice 19, cgroup %s): agent measures '
                 'load %.1f, workload class %s demand %.1f' % (
                     busy.name, BUSY_THREADS, busy.busy_workload_id,
                     snap['load']['demand'], snap['batch']['class'],
                     snap['batch']['demand'])]
        # The scheduler refreshes its snapshots by their age (agent_ttl).
        procs.pause(cloud_mod.AGENT_TTL + cloud_mod.AGENT_INTERVAL)
        cursor = schedlog.LogCursor(run.cloud.scheduler_log)
        spark = run.spark()
        servers = [run.user.boot_and_wait('web-%d' % i, spark)
                   for i in range(1, 7)]
        snaps = run.wait_agents_list(servers)
        lines += per_host_lines(run, servers, snaps)
        check_active(servers, lines)
        on_busy = [s.name for s in servers if host_of(s) == busy.name]
        check(not on_busy, '%s placed on the busy host %s' % (
            ', '.join(on_busy), busy.name), lines)
        refusals = [schedlog.message(x) for x in schedlog.plugin_host_lines(
            cursor.text(), busy.name)
            if 'ParallelismFilter' in x and ' fail ' in x]
        check(refusals, 'no ParallelismFilter refusal of %s logged'
              % busy.name, lines)
        lines.append('  scheduler log: %s' % refusals[0])
        return lines
    finally:
        busy.stop_busy()
        # The next scenario starts once the scheduler can see the host idle.
        procs.wait_for('%s measured idle' % busy.name,
                       lambda: busy.snapshot()['load']['demand'] < 1.0,
                       run.timeout, interval=1)
        procs.pause(cloud_mod.AGENT_TTL + cloud_mod.AGENT_INTERVAL)


def _busy_snapshot(host_slice):
    snap = host_slice.snapshot()
    for w in snap.get('workloads') or ():
        if w['id'] == host_slice.busy_workload_id and \
                w.get('demand', 0) >= BUSY_THREADS - 1.5:
            return dict(snap, batch=w)
    return None


# -- 4 ----------------------------------------------------------------------
def groups(run):
    """A cpu-class group (libplacement_group hint) spreads over the hosts;
    a net-class group then lands together on one host."""
    spark = run.spark()
    etl = [run.user.boot_and_wait('etl-%d' % i, spark, group='etl')
           for i in range(1, 5)]
    tomcat = run.user.flavor('tomcat', 2, NET_SPECS)
    shop = [run.user.boot_and_wait('shop-%d' % i, tomcat, group='shop')
            for i in range(1, 5)]
    lines = per_host_lines(run, etl + shop)
    check_active(etl + shop, lines)
    etl_hosts = sorted({host_of(s) for s in etl})
    shop_hosts = sorted({host_of(s) for s in shop})
    lines.append('  cpu group etl (4 x spark): %s; net group shop '
                 '(4 x tomcat): %s' % (' '.join(etl_hosts),
                                       ' '.join(shop_hosts)))
    check(len(etl_hosts) == len(run.hosts), 'the cpu group shares hosts: %s'
          % etl_hosts, lines)
    check(len(shop_hosts) == 1, 'the net group is split over %s'
          % shop_hosts, lines)
    return lines


# -- 5 ----------------------------------------------------------------------
def rebalanced(run):
    """An operator forces 6 cpu servers onto one host (12 > 8 threads);
    the planner's live migrations, executed by Watcher's migrate action
    through nova-api, bring every host back within its cap."""
    spark = run.spark()
    hot = run.slices[0].name
    servers = [run.user.boot_and_wait('hot-%d' % i, spark, forced_host=hot)
               for i in range(1, 7)]
    servers += [run.user.boot_and_wait('cool-%d' % i, spark)
                for i in range(1, 3)]
    check_active(servers)
    snaps = run.wait_agents_list(run.user.servers())
    lines = ['  before:'] + per_host_lines(run, run.user.servers(), snaps)
    current = run.user.servers()
    plan = rebalance.plan(rebalance.cluster_document(current, snaps),
                          {s.id for s in current})
    names = {s.id: s.name for s in servers}
    lines.append('  plan: %d host(s) over cap, %d live migration(s)%s, %d '
                 'over after' % (plan['hosts_over_before'], len(plan['moves']),
                                 ' (optimal)' if plan.get('optimal') else '',
                                 plan['hosts_over_after']))
    for m in plan['moves']:
        lines.append('    %s %s -> %s: %s' % (
            names.get(m['workload'], m['workload']), m['source'],
            m['destination'], m['explain'].split(': ', 1)[-1]))
    check(plan['hosts_over_before'] == 1 and plan['moves'] and
          plan['hosts_over_after'] == 0,
          'the planner should relieve %s with live migrations' % hot, lines)
    results = _watcher_migrate(run, plan['moves'])
    for r in results:
        lines.append('    Watcher migrate %s: %s in %.1f s%s' % (
            names.get(r['workload'], r['workload']),
            'done' if r['ok'] else 'FAILED', r['seconds'],
            ' (%s)' % r['error'] if r['error'] else ''))
    for m in plan['moves']:
        procs.wait_for('migration of %s settled' % m['workload'],
                       lambda: run.user.live_migrations_done(m['workload']),
                       run.timeout, interval=1)
    run.user.changed()
    after = run.user.servers()
    snaps = run.wait_agents_list(after)
    lines += ['  after:'] + per_host_lines(run, after, snaps)
    check(all(r['ok'] for r in results), 'a Watcher migrate action failed',
          lines)
    moved = {s.id: host_of(s) for s in after}
    wrong = [m for m in plan['moves']
             if moved.get(m['workload']) != m['destination']]
    check(not wrong, 'not on their planned destination: %s' % ', '.join(
        names.get(m['workload'], '?') for m in wrong), lines)
    c = counts(after)
    check(all(n <= PER_HOST for n in c.values()),
          'still over a cap: %s' % dict(c), lines)
    again = rebalance.plan(rebalance.cluster_document(after, snaps),
                           {s.id for s in after})
    lines.append('  planner again: %d host(s) over cap, %d move(s)' % (
        again['hosts_over_before'], len(again['moves'])))
    check(again['hosts_over_before'] == 0 and not again['moves'],
          'the planner still finds work after the migrations', lines)
    return lines


def _watcher_migrate(run, moves):
    conf = os.path.join(run.workdir, 'etc', 'watcher.conf')
    with open(conf, 'w') as f:
        f.write('[watcher_clients_auth]\nauth_type = admin_token\n'
                'endpoint = %s/v2.1\ntoken = %s\n\n[nova_client]\n'
                'api_version = 2.56\n' % (run.cloud.api_url,
                                          cloud_mod.TOKEN))
    moves_file = os.path.join(run.workdir, 'moves.json')
    out_file = os.path.join(run.workdir, 'moves-done.json')
    with open(moves_file, 'w') as f:
        json.dump(moves, f)
    run.cloud.run_helper('watcher-migrate', [
        install.PYTHON, '-m', 'lpe2e.watcher_migrate', conf, moves_file,
        out_file])
    with open(out_file) as f:
        return json.load(f)


# -- scheduler cost ---------------------------------------------------------
def scheduler_cost(run):
    """The scheduler's own time per request (select_destinations, from its
    log), stock Nova and with the plugin, in this run on the same cloud."""
    spark = run.spark()
    result = {}
    try:
        for mode in ('stock', 'plugin'):
            run.cloud.start_scheduler(mode)
            cursor = schedlog.LogCursor(run.cloud.scheduler_log)
            servers = [run.user.boot_and_wait('%s-%d' % (mode, i), spark)
                       for i in range(1, COST_BOOTS + 1)]
            seconds = schedlog.request_seconds(cursor.text())
            result[mode] = [seconds[s.id] for s in servers if s.id in seconds]
            run.user.delete_all()
    finally:
        if run.cloud.scheduler_mode != 'plugin':
            run.cloud.start_scheduler('plugin')
    lines = []
    for mode, label in (('stock', 'stock Nova (its default filters and '
                          'weighers)'), ('plugin', 'with libplacement')):
        values = result.get(mode) or []
        check(len(values) == COST_BOOTS, '%s: %d of %d requests found in the '
              'scheduler log' % (mode, len(values), COST_BOOTS))
        lines.append('  %-52s median %5.0f ms, min %4.0f, max %5.0f (n=%d)' % (
            label + ':', 1000 * statistics.median(values),
            1000 * min(values), 1000 * max(values), len(values)))
    lines.append('  (start of select_destinations to "Selected host", '
                 'Placement queries and claim included; no speed is asserted)')
    return lines


# -- 6 ----------------------------------------------------------------------
def fail_open(run):
    """Agents stopped, then the library unloadable: Nova still schedules,
    and the scheduler's log says why."""
    spark = run.spark()
    lines = []
    try:
        # The scheduler refreshes in the background: it may say so before
        # the first request.
        cursor = schedlog.LogCursor(run.cloud.scheduler_log)
        for s in run.slices:
            s.stop_agent()
        # Until the scheduler's snapshots are too old to use.
        procs.pause(cloud_mod.AGENT_TTL + cloud_mod.AGENT_INTERVAL)
        servers = [run.user.boot_and_wait('noagent-%d' % i, spark)
                   for i in range(1, 5)]
        lines.append('  agents stopped: %s' % ', '.join(
            '%s on %s' % (s.name, host_of(s) or '-') for s in servers))
        check_active(servers, lines)
        said = cursor.lines('no fresh agent snapshot for host')
        check(said, 'the scheduler log does not say that hosts fall back to '
              'declared demand', lines)
        lines.append('  scheduler log: %s' % schedlog.message(said[0]))
        loaded = run.inst.loaded_files()
        hidden = [loaded['libplacement']] + loaded['shared']
        run.cloud.start_scheduler('unloadable', hidden)
        cursor = schedlog.LogCursor(run.cloud.scheduler_log)
        more = [run.user.boot_and_wait('nolib-%d' % i, spark)
                for i in range(1, 5)]
        lines.append('  library unloadable (%s replaced by an empty file for '
                     'the scheduler): %s' % (
                         ', '.join(os.path.basename(p) for p in hidden),
                         ', '.join('%s on %s' % (s.name, host_of(s) or '-')
                                   for s in more)))
        check_active(more, lines)
        said = cursor.lines(r'libplacement: .* could not decide')
        check(said, 'the scheduler log does not say why the plugin cannot '
              'decide', lines)
        lines.append('  scheduler log: %s' % schedlog.message(said[0]))
        return lines
    finally:
        run.cloud.start_scheduler('plugin')
        run.start_agents()


# The burst runs last: instances it places count on their hosts in the
# scheduler until the hosts list them, or until the background check finds
# them deleted (scheduled_check, 10 s); the sequential scenarios must not
# inherit that.
SCENARIOS = [
    ('testbed', '1 research testbed: 16 cpu servers, then a 17th', testbed),
    ('measured', '3 measured demand: unplanned busy work on pc3', measured),
    ('groups', '4 groups: cpu spread, net together', groups),
    ('rebalance', '5 rebalance: an over-cap host relieved', rebalanced),
    ('cost', 'scheduler time per request, stock vs plugin', scheduler_cost),
    ('failopen', '6 fail-open: agents stopped, library unloadable', fail_open),
    ('burst', '2 burst: 17 creates at once', burst),
]
