#!/usr/bin/python3
"""Tests of libplacement-agent against the real thing.

Real processes in real cgroups (busy loops in a 1-CPU cpuset, a multi-threaded
process, a process sleeping on a socket, services with many threads and
little CPU, CPU limits, busy loops in the root cgroup), the HTTP endpoints
(snapshot parsed back by the C library, /metrics parsed as Prometheus text,
401/404/405, keep-alive, 1,000 concurrent connections with wrk, no snapshot
before the first window, none once sweeps have stopped), the CPU set and
runtime options, a real libvirtd + QEMU, and dockerd when it can be started;
the snapshots fed to the C core (test_scheduling).  Environment: AGENT, SPIN,
VALIDATE, LPCTL (paths of the binaries built by the Makefile).
"""
import re
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentlib  # noqa: E402

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
SPIN = os.environ.get("SPIN", "build/agent-tests/spin")
VALIDATE = os.environ.get("VALIDATE", "build/agent-tests/validate")
WINDOW = 2.0


def workload(snap, wid):
    for w in snap["workloads"]:
        if w["id"] == wid:
            return w
    raise AssertionError("workload %s not in snapshot: %s"
                         % (wid, [w["id"] for w in snap["workloads"]]))


class ProcCollectorTest(unittest.TestCase):
    """Real processes in cgroups pinned to one CPU."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to create cgroups")
        self.cg = agentlib.Cgroup("proc-%s" % self._testMethodName, cpus="0")
        self.addCleanup(self.cg.destroy)

    def once(self, *extra):
        return agentlib.agent_once(AGENT, VALIDATE, WINDOW, "--collectors", "proc", *extra)

    def assert_demand(self, w, want):
        self.assertLessEqual(abs(w["demand"] - want), 0.15 * want,
                             "demand %.3f not within 15%% of %g: %s" % (w["demand"], want, w))

    def test_busy_loops_1_2_4(self):
        for n in (1, 2, 4):
            with self.subTest(loops=n):
                procs = [self.cg.spawn(["sh", "-c", "while :; do :; done"]) for _ in range(n)]
                w = workload(self.once(), self.cg.rel)
                print("\n  %d loops: demand %.3f util %.3f class %s" % (n, w["demand"], w["util"], w["class"]),
                      file=sys.stderr)
                self.assert_demand(w, n)
                self.assertEqual(w["class"], "cpu", w)
                self.assertEqual(w["threads"], n)
                self.assertEqual(w["vcpus"], 1)
                for p in procs:
                    p.kill()
                    p.wait()

    def test_multithreaded_process_counted_over_all_threads(self):
        self.cg.spawn([SPIN, "4", "30"])
        w = workload(self.once(), self.cg.rel)
        self.assertEqual(w["threads"], 4)
        self.assert_demand(w, 4)
        self.assertEqual(w["class"], "cpu", w)

    def test_process_sleeping_on_socket_is_idle_or_net(self):
        self.cg.spawn(["/usr/bin/python3", "-c",
                       "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
                       "s.listen(); print('ready', flush=True); s.accept()"], wait_line=True)
        w = workload(self.once(), self.cg.rel)
        self.assertIn(w["class"], ("idle", "net"), w)
        self.assertLess(w["demand"], 0.1, w)

    def test_disk_writer_reports_disk_bytes(self):
        """Direct writes reach the disk: /proc/PID/io counts them."""
        tmp = tempfile.mkdtemp(prefix="lp-agent-disk-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.cg.spawn(["/bin/sh", "-c", "while :; do dd if=/dev/zero of=%s/f bs=1M count=8 "
                       "oflag=direct conv=notrunc status=none; done" % tmp])
        w = workload(self.once(), self.cg.rel)
        self.cg.destroy()  # stop the writer before its directory goes
        self.assertGreater(w["disk_bps"], 1e6, w)

    def test_processes_coming_and_going(self):
        """Fast sweeps over a cgroup whose processes and threads keep changing:
        totals never go backwards or double (a task born since the last sweep
        counts from its start), and the agent stays up and leak-free."""
        self.cg.spawn(["/bin/sh", "-c", "while :; do %s 3 0.5; sleep 0.01; done" % SPIN])
        port = agentlib.free_port()
        d = agentlib.Daemon(AGENT, "--port", str(port), "--interval", "0.05", "--collectors", "proc")
        demands = []
        try:
            d.wait_ready(port)
            for _ in range(30):
                time.sleep(0.1)
                with urllib.request.urlopen("http://127.0.0.1:%d/v1/snapshot" % port, timeout=10) as r:
                    w = [w for w in json.loads(r.read())["workloads"] if w["id"] == self.cg.rel]
                if w and w[0].get("demand", -1) >= 0:
                    demands.append(w[0]["demand"])
        finally:
            d.stop()
        self.assertEqual(d.proc.returncode, 0, d.stderr_text())
        d.close()
        self.assertGreater(len(demands), 20)
        # In 50 ms windows a running thread's schedstat time moves in scheduler
        # ticks (ms) and a sweep preempted on a loaded host reads a window
        # late: single windows are noisy, but tasks counted twice would show
        # as ~2x in most of them.
        mean = sum(demands) / len(demands)
        self.assertLessEqual(sorted(demands)[len(demands) * 9 // 10], 3 * 1.5, demands)
        self.assertLessEqual(mean, 3 * 1.1, demands)
        self.assertGreater(mean, 1.5, demands)

    def test_root_cgroup_processes_are_not_workloads(self):
        snap = self.once()
        self.assertNotIn("/", [w["id"] for w in snap["workloads"]])
        self.assertGreaterEqual(snap["cpu"]["threads"], 1)
        self.assertGreaterEqual(snap["load"]["util"], 0)


class ServiceTest(unittest.TestCase):
    """Services that keep many threads and little CPU busy (a JVM, Tomcat, a
    database), each in a cgroup of its own, and cgroup CPU limits: threads
    are reported as they are, vcpus carries the limit (0 when unlimited)."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to create cgroups")

    def cgroup(self, name, cpus=None):
        cg = agentlib.Cgroup("svc-%s-%s" % (self._testMethodName[-20:], name), cpus=cpus)
        self.addCleanup(cg.destroy)
        return cg

    def test_many_threads_little_cpu(self):
        services = {46: self.cgroup("46"), 200: self.cgroup("200")}
        for threads, cg in services.items():
            cg.spawn([SPIN, str(threads), "60", "0.3"], wait_line=True)
        snap = agentlib.agent_once(AGENT, VALIDATE, WINDOW, "--collectors", "proc")
        for threads, cg in services.items():
            w = workload(snap, cg.rel)
            print("\n  %d-thread service: demand %.3f util %.3f class %s vcpus %g"
                  % (threads, w["demand"], w["util"], w["class"], w.get("vcpus", 0)), file=sys.stderr)
            self.assertEqual(w["threads"], threads)
            self.assertNotIn("vcpus", w, "an unlimited cgroup is entitled to nothing in particular")
            # it ran, on far fewer CPUs than threads; demand (run + wait
            # for a CPU) depends on what else loads the host, but not below
            self.assertGreater(w["util"], 0.02, w)
            self.assertLess(w["util"], 1.5, w)
            self.assertGreaterEqual(w["demand"], w["util"], w)

    def test_cpu_limits_are_vcpus(self):
        quota, cpuset, both = self.cgroup("quota"), self.cgroup("cpuset", cpus="0"), self.cgroup("both", cpus="0")
        quota.set_quota(0.5)
        both.set_quota(0.25)
        for cg in (quota, cpuset, both):
            cg.spawn([SPIN, "46", "60", "0.1"], wait_line=True)
        snap = agentlib.agent_once(AGENT, VALIDATE, 1.0, "--collectors", "proc")
        self.assertEqual(workload(snap, quota.rel)["vcpus"], 0.5)
        self.assertEqual(workload(snap, cpuset.rel)["vcpus"], 1)
        self.assertEqual(workload(snap, both.rel)["vcpus"], 0.25)
        for cg in (quota, cpuset, both):
            self.assertEqual(workload(snap, cg.rel)["threads"], 46)
        # a cpuset that covers every CPU available to workloads is no limit
        snap = agentlib.agent_once(AGENT, VALIDATE, 1.0, "--collectors", "proc", "--cpus", "0")
        self.assertNotIn("vcpus", workload(snap, cpuset.rel))
        self.assertEqual(workload(snap, both.rel)["vcpus"], 0.25)

    def test_limit_changed_while_running(self):
        """docker update --cpus changes a running container's quota: the
        next snapshot says so."""
        cg = self.cgroup("update")
        cg.spawn([SPIN, "4", "60", "0.1"], wait_line=True)
        port = agentlib.free_port()
        d = agentlib.Daemon(AGENT, "--port", str(port), "--interval", "0.2", "--collectors", "proc")
        self.addCleanup(d.close)
        d.wait_ready(port)

        def vcpus():
            _, _, body = agentlib.http_get(port, "/v1/snapshot")
            return workload(json.loads(body), cg.rel).get("vcpus", 0)

        self.assertEqual(vcpus(), 0)
        cg.set_quota(1.5)
        self.assertTrue(wait_for(lambda: vcpus() == 1.5), "quota not seen")
        cg.set_quota(None)
        self.assertTrue(wait_for(lambda: vcpus() == 0), "removed quota not seen")


def wait_for(cond, timeout=30):
    """Poll cond until true; False after timeout (a hang guard, not a speed test)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


class HostDemandTest(unittest.TestCase):
    """Work outside any workload cgroup (host daemons, a busy loop started
    from a shell) counts in the host's demand within one window; the
    1-minute load average would trail it by minutes."""

    LOOPS = 16

    def test_root_cgroup_busy_loops_count_at_once(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to move processes between cgroups")
        before = agentlib.agent_once(AGENT, VALIDATE, WINDOW, "--collectors", "proc")["load"]["demand"]
        agentlib.spawn_in_root_cgroup(self, [SPIN, str(self.LOOPS), "60"])
        after = agentlib.agent_once(AGENT, VALIDATE, WINDOW, "--collectors", "proc")["load"]["demand"]
        print("\n  host demand %.2f -> %.2f with %d busy threads in the root cgroup"
              % (before, after, self.LOOPS), file=sys.stderr)
        # each busy thread runs or waits all the time: +1 each, less what
        # it takes from tasks that exit between sweeps (whose waiting is not
        # seen) and what other work stopped meanwhile
        self.assertGreater(after - before, self.LOOPS / 2)


class CommandLineTest(unittest.TestCase):
    """Flags, config file, errors."""

    def run_agent(self, *args):
        return subprocess.run([AGENT, *args], capture_output=True, text=True, timeout=20)

    def test_help(self):
        r = self.run_agent("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--interval", r.stdout)

    def test_unknown_option_is_named(self):
        r = self.run_agent("--no-such-thing")
        self.assertEqual(r.returncode, 2)
        self.assertIn('"no-such-thing"', r.stderr)

    def test_bad_values_are_named(self):
        for args, word in ((["--port", "70000"], "port"), (["--interval", "0"], "interval"),
                           (["--collectors", "proc,bogus"], "bogus"),
                           (["--runtimes", "vm,lxc"], "lxc"), (["--log-level", "loud"], "loud")):
            r = self.run_agent(*args, "--once", "--window", "0.1")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(word, r.stderr)

    def test_config_file_and_flag_override(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("# agent\nhost-name = from-config\nwindow = 0.2\ncollectors = proc\n")
            f.flush()
            r = self.run_agent("--config", f.name, "--once")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["host"], "from-config")
            r = self.run_agent("--config", f.name, "--once", "--host-name", "from-flag")
            self.assertEqual(json.loads(r.stdout)["host"], "from-flag")

    def test_config_file_error_names_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("port = 1\nthis line is wrong\n")
            f.flush()
            r = self.run_agent("--config", f.name, "--once")
            self.assertEqual(r.returncode, 2)
            self.assertIn("%s:2" % f.name, r.stderr)

    def test_runtimes_and_root_cgroup_options(self):
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            agentlib.move_to_root_cgroup(sleeper.pid)
            r = self.run_agent("--once", "--window", "0.2", "--collectors", "proc,proc",
                               "--runtimes", "unikernel,vm", "--include-root-cgroup")
        finally:
            sleeper.kill()
            sleeper.wait()
        self.assertEqual(r.returncode, 0, r.stderr)
        snap = json.loads(r.stdout)
        self.assertEqual(sorted(snap["runtimes"]), ["unikernel", "vm"])
        ids = [w["id"] for w in snap["workloads"]]
        self.assertIn("pid:%d" % sleeper.pid, ids)
        self.assertEqual(len(ids), len(set(ids)), "a collector listed twice ran twice")

    def test_cpus_option_sets_cpu_threads(self):
        for cpus, threads in (("0", 1), ("0-1,^1", 1), (agentlib.online_cpus(), os.cpu_count())):
            r = self.run_agent("--once", "--window", "0.1", "--collectors", "proc", "--cpus", cpus)
            self.assertEqual(r.returncode, 0, r.stderr)
            cpu = json.loads(r.stdout)["cpu"]
            self.assertEqual(cpu["threads"], threads, cpus)
            self.assertLessEqual(cpu.get("cores", 1), threads)
            self.assertIn("CPUs for workloads: %s (from --cpus)" % cpus, r.stderr)
        for cpus, word in (("0-x", '"0-x"'), ("4000-4001", "none of these CPUs is online")):
            r = self.run_agent("--once", "--window", "0.1", "--collectors", "proc", "--cpus", cpus)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(word, r.stderr)

    def test_nova_conf_cpu_sets(self):
        """Nova's [compute] cpu_shared_set and cpu_dedicated_set together
        (else [DEFAULT] vcpu_pin_set) are the CPUs guests may use."""
        with tempfile.TemporaryDirectory(prefix="lp-agent-nova-") as tmp:
            conf = os.path.join(tmp, "nova.conf")
            cases = (("[DEFAULT]\nvcpu_pin_set = 0\n[compute]\n#cpu_shared_set = 0-1\n", 1, "vcpu_pin_set"),
                     ("[compute]\ncpu_shared_set = 0\n", 1, "cpu_shared_set"),
                     ("[compute]\ncpu_shared_set = \"0\"\ncpu_dedicated_set: 1\n[libvirt]\ncpu_shared_set = 5\n",
                      min(2, os.cpu_count()), "cpu_dedicated_set"),
                     ("[DEFAULT]\nvcpu_pin_set = 0\n[compute]\ncpu_shared_set = 0-1,^0\n", 1, "cpu_shared_set"),
                     ("[compute]\n", os.cpu_count(), "affinity"))
            for text, threads, source in cases:
                with open(conf, "w") as f:
                    f.write(text)
                r = self.run_agent("--once", "--window", "0.1", "--collectors", "proc", "--nova-conf", conf)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout)["cpu"]["threads"], threads, text)
                self.assertIn(source, re.search(r"CPUs for workloads: .*", r.stderr).group(0), text)
            r = self.run_agent("--once", "--window", "0.1", "--collectors", "proc", "--nova-conf", conf,
                               "--cpus", "0")
            self.assertEqual(json.loads(r.stdout)["cpu"]["threads"], 1, "--cpus wins")
            r = self.run_agent("--once", "--collectors", "proc", "--nova-conf", os.path.join(tmp, "missing.conf"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("missing.conf", r.stderr)

    def test_unavailable_collectors_do_not_stop_the_agent(self):
        r = self.run_agent("--once", "--window", "0.2", "--collectors", "proc,libvirt,docker,libxl",
                           "--libvirt-uri", "qemu:///system?socket=/nonexistent",
                           "--docker-socket", "/nonexistent.sock")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["schema"], "libplacement/snapshot/v1")
        self.assertIn("unavailable", r.stderr)


class FreshnessTest(unittest.TestCase):
    """No snapshot before the first window has rates, none once sweeps have
    stopped: 503 with Retry-After and a one-line reason, on /v1/snapshot
    and /healthz; /metrics says so too."""

    def daemon(self, *args):
        """Start the agent; return its port once it answers HTTP (any status)."""
        port = agentlib.free_port()
        d = agentlib.Daemon(AGENT, "--port", str(port), "--collectors", "proc", *args)
        self.addCleanup(d.close)
        self.assertTrue(wait_for(lambda: self._answers(port)), "agent not answering: %s" % d.stderr_text())
        return port

    @staticmethod
    def _answers(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def metric(self, port, name):
        _, _, text = agentlib.http_get(port, "/metrics")
        m = re.search(r"^%s (\S+)$" % name, text, re.M)
        return float(m.group(1)) if m else None

    def test_no_snapshot_before_the_first_window(self):
        port = self.daemon("--interval", "60", "--window", "30")
        for path in ("/v1/snapshot", "/healthz"):
            status, headers, body = agentlib.http_get(port, path)
            self.assertEqual(status, 503, body)
            self.assertTrue(body.startswith("starting: no measurement window yet"), body)
            self.assertEqual(body.count("\n"), 1, "one line")
            self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertEqual(self.metric(port, "lp_agent_ready"), 0)

    def test_first_snapshot_has_rates_and_its_sweeps_time(self):
        cg = agentlib.Cgroup("fresh-busy")
        self.addCleanup(cg.destroy)
        cg.spawn([SPIN, "1", "60"], wait_line=True)
        start = time.time()
        port = self.daemon("--interval", "60", "--window", "1")
        self.assertTrue(wait_for(lambda: agentlib.http_get(port, "/v1/snapshot")[0] == 200))
        snap = json.loads(agentlib.http_get(port, "/v1/snapshot")[2])
        w = workload(snap, cg.rel)
        self.assertGreater(w["demand"], 0.5, w)
        self.assertNotEqual(w["class"], "unknown", w)
        # the time of the sweep it was computed from, to the millisecond
        self.assertGreater(snap["time"], start)
        self.assertLess(snap["time"], time.time())
        self.assertAlmostEqual(snap["time"], self.metric(port, "lp_agent_last_sweep_timestamp_seconds"), delta=0.001)
        self.assertNotEqual(snap["time"], int(snap["time"]), "fractional seconds")
        # its class holds since the window began: the agent's first sweep
        self.assertGreater(w["class_since"], start)
        self.assertLess(w["class_since"], snap["time"])

    def test_stale_once_sweeps_stop(self):
        """The next sweep is a minute away and the snapshot may be 1.5 s old
        (--max-sweep-age): it goes stale as if sweeps had stopped."""
        port = self.daemon("--interval", "60", "--window", "0.5", "--max-sweep-age", "1.5")
        seen = []
        end = time.monotonic() + 30
        while time.monotonic() < end:
            status, headers, body = agentlib.http_get(port, "/v1/snapshot")
            seen.append(status)
            if body.startswith("stale: no good sweep since"):
                break
            time.sleep(0.05)
        self.assertEqual(status, 503, seen)
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertRegex(body, r"^stale: no good sweep since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                               r"\([\d.]+ s ago, the limit is 1\.5 s\)\n$")
        status, _, health = agentlib.http_get(port, "/healthz")
        self.assertEqual(status, 503)
        self.assertTrue(health.startswith("stale: no good sweep since"), health)
        self.assertEqual(self.metric(port, "lp_agent_ready"), 0)
        self.assertGreater(self.metric(port, "lp_agent_last_sweep_age_seconds"), 1.5)
        self.assertIn(200, seen + [agentlib.http_get(port, "/metrics")[0]])


class HttpTest(unittest.TestCase):
    """The daemon over HTTP."""

    TOKEN = "s3cret-token"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lp-agent-http-")
        tok = os.path.join(cls.tmp, "token")
        with open(tok, "w") as f:
            f.write(cls.TOKEN + "\n")
        cls.port = agentlib.free_port()
        os.chmod(tok, 0o600)
        # wrk's 1,000 connections come from one address
        cls.agent = agentlib.Daemon(AGENT, "--port", str(cls.port), "--interval", "0.5",
                                    "--token-file", tok, "--collectors", "proc", "--per-ip-connections", "0")
        try:
            cls.agent.wait_ready(cls.port)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def request(self, method, path, token=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Authorization": "Bearer " + token} if token else {}
        c.request(method, path, headers=headers)
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r, body

    def test_snapshot_parses_back(self):
        r, body = self.request("GET", "/v1/snapshot", self.TOKEN)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        v = subprocess.run([VALIDATE], input=body, capture_output=True, timeout=10)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertEqual(json.loads(body)["schema"], "libplacement/snapshot/v1")

    def test_token_required(self):
        r, _ = self.request("GET", "/v1/snapshot")
        self.assertEqual(r.status, 401)
        self.assertIn("Bearer", r.getheader("WWW-Authenticate"))
        r, _ = self.request("GET", "/v1/snapshot", "wrong")
        self.assertEqual(r.status, 401)
        r, _ = self.request("GET", "/v1/snapshot", self.TOKEN + "x")
        self.assertEqual(r.status, 401)

    def test_metrics_are_prometheus_text(self):
        from prometheus_client.parser import text_string_to_metric_families
        r, body = self.request("GET", "/metrics", self.TOKEN)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        text = body.decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        self.assertIn("lp_host_threads", families)
        self.assertEqual(families["lp_host_threads"].type, "gauge")
        self.assertGreaterEqual(families["lp_host_threads"].samples[0].value, 1)
        # the parser names a counter family without its _total suffix
        self.assertEqual(families["lp_agent_sweeps"].type, "counter")
        up = {s.labels["collector"]: s.value for s in families["lp_collector_up"].samples}
        self.assertEqual(up.get("proc"), 1)
        for line in text.splitlines():
            if line.startswith("lp_") and not line.startswith("#"):
                name = line.split("{")[0].split(" ")[0]
                self.assertIn("# TYPE %s " % name, text, "no TYPE for %s" % name)
                self.assertIn("# HELP %s " % name, text, "no HELP for %s" % name)

    def test_healthz(self):
        r, body = self.request("GET", "/healthz")
        self.assertEqual((r.status, body), (200, b"ok\n"))

    def test_bad_path_404_and_method_405(self):
        for path in ("/", "/v1/snapshot/x", "/v2/snapshot", "/metricsx"):
            r, _ = self.request("GET", path, self.TOKEN)
            self.assertEqual(r.status, 404, path)
        for method in ("POST", "PUT", "DELETE"):
            r, _ = self.request(method, "/metrics")
            self.assertEqual(r.status, 405, method)
            self.assertEqual(r.getheader("Allow"), "GET, HEAD")
        r, body = self.request("HEAD", "/metrics", self.TOKEN)
        self.assertEqual((r.status, body), (200, b""))

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        r1, _ = self.request("GET", "/metrics", self.TOKEN, conn=c)
        sock = c.sock
        r2, _ = self.request("GET", "/v1/snapshot", self.TOKEN, conn=c)
        self.assertEqual((r1.status, r2.status), (200, 200))
        self.assertNotEqual((r1.getheader("Connection") or "").lower(), "close")
        self.assertIs(c.sock, sock, "the connection was not kept open")
        c.close()

    def test_1000_concurrent_connections_no_errors_flat_rss(self):
        if os.environ.get("AGENT_QUICK"):
            self.skipTest("load test runs against the plain build only")
        if not shutil.which("wrk"):
            self.skipTest("wrk is not installed (Debian package wrk)")
        url = "http://127.0.0.1:%d/v1/snapshot" % self.port
        args = ["wrk", "-t", "2", "-c", "1000", "-d", "3s", "--timeout", "10s", "-H",
                "Authorization: Bearer " + self.TOKEN, url]
        warm = agentlib.wrk(args)
        rss0 = self.agent.rss_kib()
        run = agentlib.wrk(args)
        rss1 = self.agent.rss_kib()
        for res in (warm, run):
            self.assertGreater(res["requests"], 1000, res)
            self.assertEqual(res["socket_errors"], 0, res)
            self.assertEqual(res["non2xx"], 0, res)
        self.assertLess(rss1, rss0 * 1.10 + 1024,
                        "RSS grew from %d to %d KiB under load" % (rss0, rss1))
        print("\n  wrk: %d requests, %.0f req/s; agent RSS %d -> %d KiB"
              % (run["requests"], run["rps"], rss0, rss1), file=sys.stderr)

    def test_connection_limit(self):
        port = agentlib.free_port()
        d = agentlib.Daemon(AGENT, "--port", str(port), "--collectors", "proc", "--max-connections", "2")
        try:
            d.wait_ready(port)
            held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
            time.sleep(0.3)  # let the server accept both
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            with self.assertRaises(OSError):  # refused: closed without an answer
                c.request("GET", "/healthz")
                c.getresponse()
            c.close()
            for h in held:
                h.close()
            time.sleep(0.3)
            r, _ = self.request_port(port, "/healthz")
            self.assertEqual(r.status, 200)  # served again once the others are gone
        finally:
            d.close()

    def request_port(self, port, path):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    def test_zz_sigterm_stops_cleanly(self):
        d = agentlib.Daemon(AGENT, "--port", str(agentlib.free_port()), "--collectors", "proc")
        d.wait_ready(d.port)
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=10), 0)
        self.assertIn("stopping", d.stderr_text())
        d.close()


if __name__ == "__main__":
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    import test_docker
    import test_libvirt
    import test_scheduling
    if os.environ.get("AGENT_QUICK"):
        # a sanitizer build: behaviour and leaks, without load or hypervisors
        cases = (CommandLineTest, ProcCollectorTest, ServiceTest, FreshnessTest, HttpTest,
                 test_libvirt.LibvirtTestDriverTest)
    else:
        cases = (CommandLineTest, ProcCollectorTest, ServiceTest, HostDemandTest, FreshnessTest, HttpTest,
                 test_scheduling.SchedulingTest, test_libvirt.LibvirtTest,
                 test_libvirt.LibvirtTestDriverTest, test_docker.DockerTest)
    for case in cases:
        suite.addTests(loader.loadTestsFromTestCase(case))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)
