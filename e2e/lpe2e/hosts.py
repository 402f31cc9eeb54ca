"""The compute hosts' slices of this machine, their agents and the processes
that stand for the instances Nova places on them.

Each host ``pcN`` is a slice of this machine:

* a **PID and mount namespace** (``unshare --pid --mount --mount-proc``), so
  that its ``/proc`` lists the host's own processes only: its agent, the
  instances Nova placed on it, busy work started on it. A libplacement-agent
  measures every process its ``/proc`` shows, so one agent per namespace
  measures one host;
* a **cgroup** ``lp-e2e-<run>/pcN`` in the hierarchies the agent reads
  (the ``cpu`` controller's on cgroup v1/hybrid hosts — the agent's
  grouping hierarchy —, ``cpuacct`` and ``memory``; the unified hierarchy
  on v2 hosts), with one child per workload; the namespace's init sits in
  it (sleeping), the agent in the root cgroups, where it counts only in
  host demand;
* its own **/proc/stat**: lxcfs's, which counts the CPU time of the
  host's cgroup only (as in a container), so that the busy time the agent
  reads there (it raises its demand to it) is the host's, not the whole
  machine's;
* the **CPUs of a research-testbed host**: Nova's fake driver reports 8
  threads, and the namespace shows its agent 8 CPUs
  (``/sys/devices/system/cpu/online`` bind-mounted to ``0-7`` inside it), as
  an 8-vCPU VM on a smaller machine would see itself. Demand is measured for
  real — a thread that is running or waiting for a CPU counts, whatever the
  number of CPUs — so oversubscription of this machine shows as demand;
* an address ``127.R.0.N`` on which the host's agent listens; the scheduler
  resolves ``pcN`` to it (its own ``/etc/hosts``, see cloud.py), so Nova's
  ``agent_url = http://{host}:PORT/v1/snapshot`` works as in a deployment.

Instances are real QEMU processes (TCG, a 512-byte guest that halts: no CPU
use, ~45 MB) started in the host's namespace and cgroup, with Nova's
instance UUID as ``-uuid`` and the flavor's vCPUs as ``-smp``, as libvirt
starts them: the agent reports each under the instance's UUID (docs/agent.md,
"Which workloads").
"""

import json
import os
import subprocess
import time
import urllib.request

from lpe2e import procs

# Hardware threads of a research-testbed host: what the fake driver and the
# host's agent report.
THREADS = 8
# cli; hlt; jmp back to hlt: a guest that halts with interrupts off (idle).
HALT_BOOT_SECTOR = b'\xfa\xf4\xeb\xfd' + b'\0' * 506 + b'\x55\xaa'
# The namespace's PID 1: reaps what is orphaned in the namespace, and
# otherwise sleeps (its cgroup is the host's, where it must not add demand).
REAPER = ('import os, signal\n'
          'def reap(*args):\n'
          '    try:\n'
          '        while os.waitpid(-1, os.WNOHANG)[0]:\n'
          '            pass\n'
          '    except ChildProcessError:\n'
          '        pass\n'
          'signal.signal(signal.SIGCHLD, reap)\n'
          'signal.signal(signal.SIGTERM, lambda *args: os._exit(0))\n'
          'while True:\n'
          '    signal.pause()\n')
# Join the cgroups given before "--", then exec the command after it.
ENTER_CGROUPS = ('while [ "$1" != "--" ]; do echo $$ > "$1/cgroup.procs"; '
                 'shift; done; shift; exec "$@"')


def cgroup_mounts():
    """(workload hierarchies, cpuset hierarchy or None).

    Workload hierarchies: v1 cpu (the agent's grouping hierarchy), cpuacct
    and memory on v1/hybrid hosts; the unified hierarchy on v2-only hosts.
    The v1 cpuset hierarchy holds the slices only: lxcfs finds a reader's
    cgroup through its namespace init's cpuset cgroup.
    """
    v1, v2 = {}, None
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, _, right = line.partition(' - ')
            fstype, _source, options = (right.split() + ['', ''])[:3]
            mount_point = left.split()[4]
            if fstype == 'cgroup2':
                v2 = v2 or mount_point
            elif fstype == 'cgroup':
                for ctrl in options.split(','):
                    if ctrl in ('cpu', 'cpuacct', 'memory', 'cpuset'):
                        v1.setdefault(ctrl, mount_point)
    if 'cpu' in v1:
        return ([v1[c] for c in ('cpu', 'cpuacct', 'memory') if c in v1],
                v1.get('cpuset'))
    if v2:
        return [v2], None
    raise RuntimeError('no cgroup hierarchy found in /proc/self/mountinfo')


class CgroupTree(object):
    """lp-e2e-<run>/... in the hierarchies of cgroup_mounts()."""

    def __init__(self, run_id):
        self.name = 'lp-e2e-' + run_id
        self.roots, self.cpuset_root = cgroup_mounts()

    def make(self, relative):
        dirs = [os.path.join(root, self.name, relative) for root in self.roots]
        for d in dirs:
            os.makedirs(d, exist_ok=True)
        return dirs

    def join(self, relative, pid):
        """Move pid (all its threads) to cgroup relative in the workload
        hierarchies."""
        for d in self.make(relative):
            with open(os.path.join(d, 'cgroup.procs'), 'w') as f:
                f.write(str(pid))

    def join_slice(self, name, pid):
        """Move pid to the slice cgroup name in every hierarchy, cpuset
        included (a v1 cpuset takes tasks once it has CPUs and memory
        nodes: all of its parent's)."""
        dirs = self.make(name)
        if self.cpuset_root:
            parent = self.cpuset_root
            for part in (self.name, name):
                d = os.path.join(parent, part)
                os.makedirs(d, exist_ok=True)
                for key in ('cpuset.cpus', 'cpuset.mems'):
                    with open(os.path.join(parent, key)) as f:
                        value = f.read()
                    with open(os.path.join(d, key), 'w') as f:
                        f.write(value)
                parent = d
            dirs.append(parent)
        for d in dirs:
            with open(os.path.join(d, 'cgroup.procs'), 'w') as f:
                f.write(str(pid))

    def workload_id(self, relative):
        return '/%s/%s' % (self.name, relative)

    def remove(self, timeout=30.0):
        """Remove the tree, deepest first (processes may still be exiting)."""
        deadline = time.monotonic() + timeout
        for root in self.roots + [r for r in [self.cpuset_root] if r]:
            top = os.path.join(root, self.name)
            while os.path.isdir(top):
                for path, dirs, _files in os.walk(top, topdown=False):
                    for d in dirs:
                        try:
                            os.rmdir(os.path.join(path, d))
                        except OSError:
                            pass
                try:
                    os.rmdir(top)
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError('cgroup %s still busy after %.0f s'
                                           % (top, timeout))
                    time.sleep(0.5)


class Lxcfs(object):
    """lxcfs (the FUSE file system containers use for their own /proc
    view) mounted in the work directory: its proc/stat counts the CPU time
    of the reader's cgroup only — the namespace init's, i.e. its host's."""

    def __init__(self, supervisor, workdir):
        self._sup = supervisor
        self.mount_point = os.path.join(workdir, 'lxcfs')
        self.proc = None

    @property
    def proc_stat(self):
        return os.path.join(self.mount_point, 'proc', 'stat')

    def start(self, timeout):
        os.makedirs(self.mount_point, exist_ok=True)
        self.proc = self._sup.start('lxcfs', [
            'lxcfs', '--foreground', '--pidfile',
            self.mount_point + '.pid', self.mount_point])
        procs.wait_for('lxcfs mounted', lambda: os.path.exists(self.proc_stat),
                       timeout, alive=self._sup.check)

    def unmount(self):
        """After lxcfs is stopped: a mount it left behind (killed) goes."""
        with open('/proc/self/mounts') as f:
            mounted = any(line.split()[1] == self.mount_point for line in f)
        if mounted:
            subprocess.run(['umount', '-l', self.mount_point])


class HostSlice(object):
    """One compute host: namespace, cgroup, agent, instances, busy work."""

    def __init__(self, supervisor, name, address, cgroups, workdir, lxcfs):
        self._sup = supervisor
        self._lxcfs = lxcfs
        self.name = name
        self.address = address
        self._cgroups = cgroups
        self._dir = os.path.join(workdir, 'hosts', name)
        self.ns_init = None
        self.ns_pid = None
        self.agent = None
        self.agent_port = None
        self._token = None
        self.instances = {}   # uuid -> Process
        self._instance_args = {}   # uuid -> (vcpus, instance name)
        self.busy = None

    # -- the namespace ----------------------------------------------------
    def start(self, timeout):
        os.makedirs(os.path.join(self._dir, 'images'), exist_ok=True)
        online = os.path.join(self._dir, 'cpu-online')
        with open(online, 'w') as f:
            f.write('0-%d\n' % (THREADS - 1))
        self._cgroups.make(self.name)
        self.ns_init = self._sup.start('%s-namespace' % self.name, [
            'unshare', '--pid', '--fork', '--mount', '--mount-proc',
            '--kill-child', '--', 'sh', '-c',
            'mount --bind "$1" /sys/devices/system/cpu/online && '
            'mount --bind "$2" /proc/stat && '
            'exec /usr/bin/python3 -c "$3"', 'sh', online,
            self._lxcfs.proc_stat, REAPER])
        self.ns_pid = procs.wait_for(
            '%s: namespace ready' % self.name, self._namespace_ready, timeout,
            interval=0.2, alive=self._sup.check)
        # lxcfs answers for the cgroup of the reader's namespace init.
        self._cgroups.join_slice(self.name, self.ns_pid)

    def _namespace_ready(self):
        """The PID of the namespace's init once it runs the reaper."""
        unshare = self.ns_init.pid
        with open('/proc/%d/task/%d/children' % (unshare, unshare)) as f:
            children = f.read().split()
        if not children:
            return None
        pid = int(children[0])
        with open('/proc/%d/comm' % pid) as f:
            return pid if f.read().strip().startswith('python') else None

    def spawn(self, proc_name, argv, cgroup, env=None):
        """Start argv in this host's namespace, in cgroup <host>/<cgroup>,
        or with cgroup None in the root cgroups."""
        dirs = (self._cgroups.make('%s/%s' % (self.name, cgroup))
                if cgroup else self._cgroups.roots)
        return self._sup.start(proc_name, [
            'nsenter', '--target', str(self.ns_pid), '--pid', '--mount', '--',
            'sh', '-c', ENTER_CGROUPS, 'sh'] + dirs + ['--'] + list(argv),
            env=env)

    # -- the agent ----------------------------------------------------------
    def start_agent(self, agent_bin, port, interval, token_file, env=None):
        """The host's agent, in the root cgroup: the agent counts processes
        there in host demand only, not as a workload that would reserve its
        own measured demand (which, however small, keeps a host whose
        instances fill its cap exactly from taking the last one)."""
        self.agent_port = port
        with open(token_file) as f:
            self._token = f.read().strip()
        self.agent = self.spawn('%s-agent' % self.name, [
            agent_bin, '--listen', self.address, '--port', str(port),
            '--host-name', self.name, '--interval', str(interval),
            '--window', '1', '--cpus', '0-%d' % (THREADS - 1),
            '--token-file', token_file, '--collectors', 'proc',
            # What a QEMU host offers; the proc collector alone offers none.
            '--runtimes', 'unikernel,vm'], None, env=env)

    def stop_agent(self):
        if self.agent is not None:
            self._sup.stop(self.agent, grace=10)
            self.agent = None

    @property
    def snapshot_url(self):
        return 'http://%s:%d/v1/snapshot' % (self.address, self.agent_port)

    def snapshot(self, timeout=5.0):
        """The agent's current snapshot (raises while it has none)."""
        req = urllib.request.Request(self.snapshot_url, headers={
            'Authorization': 'Bearer %s' % self._token})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    # -- instances ------------------------------------------------------------
    def start_instance(self, uuid, vcpus, instance_name, timeout=60.0):
        """A QEMU process for the instance, then moved into its cgroup.

        QEMU is exec'd straight by nsenter's child and joins its cgroup
        once it runs: the agent reads a process's identity (QEMU's -uuid)
        when it first sees it, so a process it saw before its exec (a shell
        that joined the cgroup first, as libvirt's child does) would stay
        the cgroup's workload instead of the instance's.
        """
        image = os.path.join(self._dir, 'images', uuid + '.img')
        with open(image, 'wb') as f:
            f.write(HALT_BOOT_SECTOR)
        self._instance_args[uuid] = (vcpus, instance_name)
        proc = self._sup.start('%s-%s' % (self.name, instance_name), [
            'nsenter', '--target', str(self.ns_pid), '--pid', '--mount', '--',
            'qemu-system-x86_64', '-name',
            'guest=%s,debug-threads=on' % instance_name, '-uuid', uuid,
            '-machine', 'pc,accel=tcg', '-smp', str(vcpus), '-m', '16',
            '-nodefaults', '-no-user-config', '-display', 'none',
            '-drive', 'file=%s,format=raw,if=ide' % image])
        self.instances[uuid] = proc
        qemu = procs.wait_for('%s: QEMU of %s running' % (self.name, uuid),
                              lambda: _exec_child(proc.pid, 'qemu'), timeout,
                              interval=0.05, alive=self._sup.check)
        self._cgroups.join('%s/machine/%s' % (self.name, uuid), qemu)

    def restart_instance(self, uuid):
        """Stop and start the instance's QEMU again (a new process)."""
        vcpus, instance_name = self._instance_args[uuid]
        self.stop_instance(uuid)
        self.start_instance(uuid, vcpus, instance_name)

    def instance_cgroup_id(self, uuid):
        """The workload id the agent gives the instance's cgroup when it
        did not recognise the QEMU process in it."""
        return self._cgroups.workload_id('%s/machine/%s' % (self.name, uuid))

    def stop_instance(self, uuid):
        self._instance_args.pop(uuid, None)
        proc = self.instances.pop(uuid, None)
        if proc is not None:
            self._sup.stop(proc, grace=10)
        try:
            os.unlink(os.path.join(self._dir, 'images', uuid + '.img'))
        except FileNotFoundError:
            pass

    # -- unplanned work ------------------------------------------------------
    def start_busy(self, threads):
        """threads busy loops at nice 19 in cgroup <host>/batch: work Nova
        did not place. Niced, they take little from the other processes of
        this shared machine; each is still always running or waiting, which
        is what demand counts."""
        self.busy = self.spawn('%s-busy' % self.name, [
            'nice', '-n', '19', 'sh', '-c',
            'i=0; while [ $i -lt %d ]; do (while :; do :; done) & '
            'i=$((i+1)); done; wait' % threads], 'batch')

    def stop_busy(self):
        if self.busy is not None:
            self._sup.stop(self.busy, grace=5)
            self.busy = None

    @property
    def busy_workload_id(self):
        return self._cgroups.workload_id('%s/batch' % self.name)


def _exec_child(pid, comm_prefix):
    """The child of pid once it runs a program whose name starts with
    comm_prefix, else None."""
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        children = f.read().split()
    for child in children:
        with open('/proc/%s/comm' % child) as f:
            if f.read().startswith(comm_prefix):
                return int(child)
    return None


class InstanceMirror(object):
    """Keeps one QEMU process per ACTIVE server on the host Nova has it on.

    The fake driver starts nothing; this is the hypervisor's part: after
    every step that boots, moves or deletes servers the harness calls
    sync() with Nova's view, and processes are started, moved and stopped
    to match it.
    """

    def __init__(self, slices):
        self._slices = {s.name: s for s in slices}

    def sync(self, servers):
        """servers: Nova's servers (novaclient, detailed)."""
        wanted = {}
        for s in servers:
            host = getattr(s, 'OS-EXT-SRV-ATTR:host', None)
            if s.status == 'ACTIVE' and host in self._slices:
                wanted[s.id] = (host, int(s.flavor['vcpus']),
                                getattr(s, 'OS-EXT-SRV-ATTR:instance_name'))
        for name, host_slice in self._slices.items():
            for uuid in list(host_slice.instances):
                if wanted.get(uuid, (None,))[0] != name:
                    host_slice.stop_instance(uuid)
        for uuid, (host, vcpus, instance_name) in wanted.items():
            host_slice = self._slices[host]
            if uuid not in host_slice.instances:
                host_slice.start_instance(uuid, vcpus, instance_name)
