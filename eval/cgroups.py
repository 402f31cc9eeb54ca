"""Cgroups for the evaluation: a "host" slice of fixed CPUs, one cgroup per server.

A *slice* is a cpuset of fixed CPUs (the host's hardware threads); each server
runs in its own child cgroup, so that libplacement-agent reports it as one
workload (its id is the cgroup's path in the hierarchy the agent groups by:
the v1 ``cpu`` controller on hybrid hosts, else the unified one).  Every cgroup
is also in the v1 ``cpuacct`` controller when it is mounted, so that the CPU
time of everything the evaluation started is known per CPU (to tell how much
of the slice's CPUs others used during a measurement).

A cgroup may carry a CFS quota (``cpu.cfs_quota_us`` / ``cpu.max``): the
closed-loop run uses it to give a "host" a fraction of a CPU.

Names carry the caller's tag (branch name + pid) so that runs of other
engineers on the same machine cannot collide.  Needs root.
"""

import os
import signal
import subprocess
import time

ROOT = '/sys/fs/cgroup'
V1_CPU = ROOT + '/cpu'
V1_CPUSET = ROOT + '/cpuset'
V1_CPUACCT = ROOT + '/cpuacct'
CFS_PERIOD_US = 100000


def hybrid():
    """True on a v1 (or hybrid v1/v2) host: the cpu controller is v1."""
    return os.path.isfile(V1_CPU + '/cgroup.procs')


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def _read(path):
    with open(path) as f:
        return f.read()


def _controller_dirs(rel):
    """Directories of cgroup rel: (cpu dir for the agent, cpuset dir, others)."""
    if hybrid():
        extra = [V1_CPUACCT + rel] if os.path.isdir(V1_CPUACCT) else []
        return V1_CPU + rel, V1_CPUSET + rel, extra
    return ROOT + rel, ROOT + rel, []


class Cgroup:
    """One cgroup in the cpu, cpuset (and cpuacct) controllers.

    rel is its path below the hierarchies' roots (e.g. '/lp-eval-1234/host/srv1'),
    which is also the workload id libplacement-agent reports for it.
    cpus: the cpuset (inherited from the parent when None); quota: CPUs of CFS
    quota (None: no limit).
    """

    def __init__(self, rel, cpus=None, quota=None):
        self.rel = rel
        self.cpu_dir, self.cpuset_dir, extra = _controller_dirs(rel)
        self.dirs = list(dict.fromkeys([self.cpu_dir, self.cpuset_dir] + extra))
        self.procs = []
        if not hybrid():
            self._enable_v2_controllers()
        for d in self.dirs:
            os.makedirs(d, exist_ok=True)
        parent = os.path.dirname(self.cpuset_dir)
        if hybrid():
            _write(self.cpuset_dir + '/cpuset.mems', _read(parent + '/cpuset.mems').strip() or '0')
        _write(self.cpuset_dir + '/cpuset.cpus',
               cpus if cpus is not None else self._effective_cpus(parent))
        if quota is not None:
            self.set_quota(quota)

    def _enable_v2_controllers(self):
        # Each level above the new cgroup must delegate cpu and cpuset.
        path = ROOT
        for part in self.rel.strip('/').split('/')[:-1] + ['']:
            ctl = path + '/cgroup.subtree_control'
            if os.path.exists(ctl) and not {'cpu', 'cpuset'} <= set(_read(ctl).split()):
                _write(ctl, '+cpu +cpuset')
            if not part:
                break
            path = path + '/' + part
            os.makedirs(path, exist_ok=True)

    @staticmethod
    def _effective_cpus(parent):
        for name in ('cpuset.cpus', 'cpuset.cpus.effective'):
            p = parent + '/' + name
            if os.path.exists(p) and _read(p).strip():
                return _read(p).strip()
        return '0-%d' % (os.cpu_count() - 1)

    def set_quota(self, cpus):
        """Limit the cgroup to `cpus` CPUs of run time per period (CFS quota)."""
        quota = int(round(cpus * CFS_PERIOD_US))
        if hybrid():
            _write(self.cpu_dir + '/cpu.cfs_period_us', str(CFS_PERIOD_US))
            _write(self.cpu_dir + '/cpu.cfs_quota_us', str(quota))
        else:
            _write(self.cpu_dir + '/cpu.max', '%d %d' % (quota, CFS_PERIOD_US))

    def set_priority(self):
        """The highest CPU weight (v1 cpu.shares 262144, v2 cpu.weight 10000):
        against other cgroups and root tasks, which weigh 1024 (100), the
        cgroup gets the CPU whenever it can use it."""
        if hybrid():
            _write(self.cpu_dir + '/cpu.shares', '262144')
        else:
            _write(self.cpu_dir + '/cpu.weight', '10000')

    def child(self, name, cpus=None, quota=None):
        return Cgroup(self.rel + '/' + name, cpus=cpus, quota=quota)

    def cpus(self):
        return _read(self.cpuset_dir + '/cpuset.cpus').strip()

    def usage_per_cpu(self):
        """CPU seconds used by the cgroup's tasks, per CPU (None when unknown)."""
        if hybrid() and os.path.isdir(V1_CPUACCT + self.rel):
            return [int(x) / 1e9 for x in
                    _read(V1_CPUACCT + self.rel + '/cpuacct.usage_percpu').split()]
        return None

    def usage(self):
        """CPU seconds used by the cgroup's tasks in all."""
        per_cpu = self.usage_per_cpu()
        if per_cpu is not None:
            return sum(per_cpu)
        for line in _read(self.cpu_dir + '/cpu.stat').splitlines():
            key, value = line.split()
            if key == 'usage_usec':
                return int(value) / 1e6
        raise RuntimeError('no CPU usage counter for cgroup %s' % self.rel)

    def spawn(self, argv, **popen_args):
        """Start argv inside the cgroup (it joins before it execs)."""
        dirs = self.dirs

        def join():
            pid = str(os.getpid())
            for d in dirs:
                _write(d + '/cgroup.procs', pid)

        p = subprocess.Popen(argv, preexec_fn=join, **popen_args)
        self.procs.append(p)
        return p

    def pids(self):
        return [int(x) for x in _read(self.cpu_dir + '/cgroup.procs').split()]

    def destroy(self):
        """Kill what runs in it (children first), remove it.  Idempotent."""
        if not self.dirs:
            return
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for d in sorted(self._subdirs(), key=len, reverse=True):
            for _ in range(50):
                try:
                    pids = [int(x) for x in _read(d + '/cgroup.procs').split()]
                except FileNotFoundError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        self.dirs = []

    def _subdirs(self):
        out = []
        for d in self.dirs:
            for path, _dirs, _files in os.walk(d):
                out.append(path)
        return out


def cpu_busy_seconds(cpus):
    """Busy CPU seconds since boot of the listed CPUs (from /proc/stat)."""
    hz = os.sysconf('SC_CLK_TCK')
    busy = 0.0
    with open('/proc/stat') as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith('cpu') and name != 'cpu' and int(name[3:]) in cpus:
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[:8])
                busy += (user + nice + system + irq + softirq + steal) / hz
    return busy


def parse_cpu_list(text):
    """'0-2,5' -> [0, 1, 2, 5]."""
    out = []
    for part in text.strip().split(','):
        if '-' in part:
            lo, hi = part.split('-')
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out
