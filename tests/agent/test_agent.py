#!/usr/bin/python3
"""Tests of libplacement-agent against the real thing.

Real processes in real cgroups (busy loops in a 1-CPU cpuset, a multi-threaded
process, a process sleeping on a socket), the HTTP endpoints (snapshot parsed
back by the C library, /metrics parsed as Prometheus text, 401/404/405,
keep-alive, 1,000 concurrent connections with wrk), a real libvirtd + QEMU,
and dockerd when it can be started.  Environment: AGENT, SPIN, VALIDATE
(paths of the binaries built by mk/agent.mk).
"""
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
        # ticks (ms) and a preempted sweep adds jitter: single windows are
        # noisy, but a task counted twice would show as ~2x.
        mean = sum(demands) / len(demands)
        self.assertLessEqual(max(demands), 3 * 1.5, demands)
        self.assertLessEqual(mean, 3 * 1.1, demands)
        self.assertGreater(mean, 1.5, demands)

    def test_root_cgroup_processes_are_not_workloads(self):
        snap = self.once()
        self.assertNotIn("/", [w["id"] for w in snap["workloads"]])
        self.assertGreaterEqual(snap["cpu"]["threads"], 1)
        self.assertGreaterEqual(snap["load"]["util"], 0)


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

    def test_unavailable_collectors_do_not_stop_the_agent(self):
        r = self.run_agent("--once", "--window", "0.2", "--collectors", "proc,libvirt,docker,libxl",
                           "--libvirt-uri", "qemu:///system?socket=/nonexistent",
                           "--docker-socket", "/nonexistent.sock")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["schema"], "libplacement/snapshot/v1")
        self.assertIn("unavailable", r.stderr)


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
    if os.environ.get("AGENT_QUICK"):
        # a sanitizer build: behaviour and leaks, without load or hypervisors
        cases = (CommandLineTest, ProcCollectorTest, HttpTest, test_libvirt.LibvirtTestDriverTest)
    else:
        cases = (CommandLineTest, ProcCollectorTest, HttpTest, test_libvirt.LibvirtTest,
                 test_libvirt.LibvirtTestDriverTest, test_docker.DockerTest)
    for case in cases:
        suite.addTests(loader.loadTestsFromTestCase(case))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)
