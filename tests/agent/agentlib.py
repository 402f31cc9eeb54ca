"""Helpers for the agent tests: cgroups, the agent binary, HTTP, lpctl, wrk."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CPU_V1 = "/sys/fs/cgroup/cpu"
CPUSET_V1 = "/sys/fs/cgroup/cpuset"
UNIFIED = "/sys/fs/cgroup"


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def online_cpus():
    """The host's online CPUs as a kernel CPU list ("0-1")."""
    with open("/sys/devices/system/cpu/online") as f:
        return f.read().strip()


class Cgroup:
    """A test cgroup (v1 cpu + cpuset on hybrid hosts, else v2) limited to
    cpus (default: all online CPUs, i.e. no cpuset limit)."""

    def __init__(self, name, cpus=None):
        self.rel = "/lp-agent-test-%d-%s" % (os.getpid(), name)
        self.procs = []
        cpus = cpus or online_cpus()
        self.v1 = os.path.isfile(os.path.join(CPU_V1, "cgroup.procs"))
        if self.v1:
            self.dirs = [CPU_V1 + self.rel, CPUSET_V1 + self.rel]
            for d in self.dirs:
                os.makedirs(d, exist_ok=True)
            _write(self.dirs[1] + "/cpuset.mems", "0")
            _write(self.dirs[1] + "/cpuset.cpus", cpus)
        else:
            ctl = open(UNIFIED + "/cgroup.subtree_control").read()
            if "cpuset" not in ctl:
                _write(UNIFIED + "/cgroup.subtree_control", "+cpuset +cpu")
            self.dirs = [UNIFIED + self.rel]
            os.makedirs(self.dirs[0], exist_ok=True)
            _write(self.dirs[0] + "/cpuset.cpus", cpus)

    def set_quota(self, cpus):
        """Limit the cgroup to cpus CPUs of run time (None: no limit)."""
        period = 100000
        if self.v1:
            _write(self.dirs[0] + "/cpu.cfs_period_us", str(period))
            _write(self.dirs[0] + "/cpu.cfs_quota_us", str(int(cpus * period)) if cpus else "-1")
        else:
            _write(self.dirs[0] + "/cpu.max", "%s %d" % (int(cpus * period) if cpus else "max", period))

    def set_weight(self, factor):
        """Give the cgroup factor times the default CPU weight against other
        cgroups (and the root's tasks), so that others' work on this shared
        machine does not keep its threads waiting."""
        if self.v1:
            _write(self.dirs[0] + "/cpu.shares", str(1024 * factor))
        else:
            _write(self.dirs[0] + "/cpu.weight", str(100 * factor))

    def set_cpus(self, cpus):
        """Change the cgroup's cpuset."""
        _write(self.dirs[-1] + "/cpuset.cpus", cpus)

    def add(self, pid):
        """Move process pid (all its threads) into the cgroup."""
        for d in self.dirs:
            _write(d + "/cgroup.procs", str(pid))

    def spawn(self, argv, wait_line=False):
        """Start argv inside the cgroup (moved in before it execs); with
        wait_line, return once it has printed a line (it is ready)."""
        r, w = os.pipe()
        p = subprocess.Popen(["/bin/sh", "-c", "read x <&3; exec \"$@\"", "sh", *argv],
                             pass_fds=(r,), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE if wait_line else subprocess.DEVNULL,
                             preexec_fn=lambda: os.dup2(r, 3))
        os.close(r)
        self.add(p.pid)
        os.write(w, b"go\n")
        os.close(w)
        self.procs.append(p)
        if wait_line:
            p.stdout.readline()
        else:
            time.sleep(0.2)
        return p

    def destroy(self):
        """Kill what was started in it (and their children, still in it), remove it.
        Calling it again does nothing."""
        if not self.dirs:
            return
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        for _ in range(3):
            with open(self.dirs[0] + "/cgroup.procs") as f:
                pids = [int(x) for x in f.read().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        self.dirs = []


def spawn_in_root_cgroup(test, argv):
    """Start argv (which prints a line when ready) in the root cgroup, where
    the host's own daemons run; stopped at the test's cleanup."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE)
    test.addCleanup(p.stdout.close)
    test.addCleanup(p.wait)
    test.addCleanup(p.kill)
    move_to_root_cgroup(p.pid)
    p.stdout.readline()
    return p


def move_to_root_cgroup(pid):
    """Put pid in the root of the hierarchy the agent groups by."""
    root = CPU_V1 if os.path.isfile(os.path.join(CPU_V1, "cgroup.procs")) else UNIFIED
    _write(root + "/cgroup.procs", str(pid))


def agent_once(agent, validate, window, *args):
    """Run --once and return the snapshot, checked by the C parser first."""
    r = subprocess.run([agent, "--once", "--window", str(window), *args],
                       capture_output=True, timeout=60 + window)
    if r.returncode != 0:
        raise AssertionError("agent --once failed (%d): %s" % (r.returncode, r.stderr.decode()))
    v = subprocess.run([validate], input=r.stdout, capture_output=True, timeout=10)
    if v.returncode != 0:
        raise AssertionError("snapshot rejected by lp_snapshot_parse: %s" % v.stderr.decode())
    return json.loads(r.stdout)


def http_get(port, path, timeout=10):
    """GET path from the agent on port: (status, headers, body text)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def lpctl_place(lpctl, hosts, requests, *options):
    """Place requests on a cluster of snapshots with lpctl explain (the C
    core, as the scheduler uses it; options such as --set NAME=VALUE): the
    plan as JSON and the exit status."""
    with tempfile.TemporaryDirectory(prefix="lp-agent-lpctl-") as tmp:
        cluster, reqs = os.path.join(tmp, "cluster.json"), os.path.join(tmp, "requests.json")
        with open(cluster, "w") as f:
            json.dump({"hosts": hosts}, f)
        with open(reqs, "w") as f:
            json.dump({"requests": requests}, f)
        r = subprocess.run([lpctl, "explain", "--cluster", cluster, "--requests", reqs, "--json", *options],
                           capture_output=True, text=True, timeout=60)
    if r.returncode not in (0, 3):
        raise AssertionError("lpctl explain failed (%d): %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout), r.returncode


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """The agent running as a daemon, stderr kept in a file."""

    def __init__(self, agent, *args):
        self.port = int(args[args.index("--port") + 1]) if "--port" in args else 9180
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([agent, *args], stdout=subprocess.DEVNULL, stderr=self.err)

    def wait_ready(self, port, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("agent exited (%d): %s" % (self.proc.returncode, self.stderr_text()))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("agent not ready on port %d: %s" % (port, self.stderr_text()))

    def rss_kib(self, field="VmRSS"):
        """Resident memory; field RssAnon gives the private part (without
        shared-library pages)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(field + r":\s+(\d+)", f.read()).group(1))

    def stderr_text(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        """Stop it and drop its captured stderr."""
        self.stop()
        self.err.close()


def wrk(args):
    """Run wrk; return requests, req/s, socket errors and non-2xx counts."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    out = r.stdout
    if r.returncode != 0:
        raise AssertionError("wrk failed: %s %s" % (out, r.stderr))
    m = re.search(r"(\d+) requests in", out)
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"requests": int(m.group(1)) if m else 0,
            "socket_errors": sum(int(x) for x in se.groups()) if se else 0,
            "non2xx": int(n2.group(1)) if n2 else 0,
            "rps": float(rps.group(1)) if rps else 0.0,
            "output": out}
