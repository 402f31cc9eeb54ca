"""Classes learned from real containers (docs/learn.md, docs/zun.md).

Real agents over real workloads: in a private dockerd (dockerlib; images
built from local files, nothing downloaded), three containers of image
``lp-learn-busy:latest`` spin on a CPU and three of image
``lp-learn-web:1`` serve a static page with nginx to httperf running on
the host.  Every container is created as Zun creates it: Docker is handed
``repo:tag`` (Zun's container image ``lp-learn-busy`` becomes
``lp-learn-busy:latest``), CPU shares of 1024 x cpu and no CPU quota.

The libplacement-agent daemon (proc and docker collectors) measures them;
its snapshots, fetched over HTTP with lp.Fetcher as a scheduler does,
carry each container's image and class and feed an lp.Learner, which
resolves requests of class auto for the two images to cpu and net.  The
same agent feeds zun_driver (LibplacementFilter with ``[libplacement]
agent_url``, against the Zun stand-in of tests/zun): Zun containers of
class auto of each image get Kata and runc.

Assertions are on classes and ranges, never on speed: the spinners are
cpu whether they run or wait for their shared CPU, and the web servers
move 4 MiB/s each (net from 1 MB/s) with a few thousandths of a CPU.
"""
import os
import subprocess
import sys
import time
import unittest
import urllib.request

import agentlib
import dockerlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
HERE = os.path.dirname(os.path.abspath(__file__))
SPIN_SRC = os.path.join(HERE, "spin.c")
NGINX = "/usr/sbin/nginx"
HTTPERF = "/usr/bin/httperf"

BUSY = "lp-learn-busy:latest"
WEB = "lp-learn-web:1"
INSTANCES = 3
#: The page and the load on each web server: 16 requests/s of 256 KiB
#: (4 connections/s of 4 requests each), 4 MiB/s.
PAGE_BYTES = 256 * 1024
CONNECTIONS_PER_S = 4
CALLS_PER_CONNECTION = 4
#: Hang guards (never assertions of speed).
GUARD_S = 120
#: The agent's host name and the scheduler's for it.
HOST = "127.0.0.1"

NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
user root;
pid /tmp/nginx.pid;
error_log stderr;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi; uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
  server { listen 80; root /srv; }
}
"""


def web_image_root(root):
    """nginx with the libraries it loads, a configuration and the page."""
    dockerlib.binary_with_libraries(NGINX, root)
    for d in ("etc/nginx", "srv", "tmp", "var/log/nginx", "var/lib/nginx"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "etc/nginx/nginx.conf"), "w") as f:
        f.write(NGINX_CONF)
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\n")
    with open(os.path.join(root, "srv/page"), "wb") as f:
        f.write(os.urandom(PAGE_BYTES))


class LearnFromDockerTest(unittest.TestCase):
    """Busy containers of one image and loaded web servers of another,
    measured by the real agent: auto requests for each image take its
    measured class."""

    @classmethod
    def setUpClass(cls):
        missing = [p for p in (NGINX, HTTPERF) if not os.access(p, os.X_OK)]
        if missing:
            raise AssertionError("not installed: %s (Debian packages nginx-light, httperf; "
                                 "scripts/deps/zun.txt)" % ", ".join(missing))
        cls.loads = []
        cls.agent = None
        cls.dockerd = dockerlib.PrivateDockerd("lp-learn-docker-")
        try:
            cls._start()
        except Exception:  # SkipTest included: stop everything before leaving
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        d = cls.dockerd
        d.start()
        busy_root = os.path.join(d.tmp, "busy")
        dockerlib.static_binary_image(SPIN_SRC, busy_root, "spin", "-pthread")
        d.import_image(busy_root, BUSY)
        web_root = os.path.join(d.tmp, "web")
        web_image_root(web_root)
        d.import_image(web_root, WEB)
        d.create_network("lp-learn")
        tag = "lp-learn-%d" % os.getpid()
        # The spinners share CPU 0 (on a host with more than one): a
        # single CPU of load whatever the host's size.
        cpuset = ["--cpuset-cpus", "0"] if os.cpu_count() > 1 else []
        cls.busy = [d.run("--network", "lp-learn", "--name", "%s-busy-%d" % (tag, i),
                          "--cpu-shares", "1024", *cpuset, BUSY, "/spin", "1", str(10 * GUARD_S))
                    for i in range(INSTANCES)]
        cls.web = [d.run("--network", "lp-learn", "--name", "%s-web-%d" % (tag, i),
                         "--cpu-shares", "1024", WEB, "/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf")
                   for i in range(INSTANCES)]
        for cid in cls.web:
            address = d.address(cid)
            wait_serving("http://%s/page" % address)
            cls.loads.append(subprocess.Popen(
                [HTTPERF, "--server", address, "--port", "80", "--uri", "/page",
                 "--rate", str(CONNECTIONS_PER_S), "--num-calls", str(CALLS_PER_CONNECTION),
                 "--num-conns", str(CONNECTIONS_PER_S * 10 * GUARD_S), "--timeout", "5"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cls.port = agentlib.free_port()
        cls.agent = agentlib.Daemon(AGENT, "--collectors", "proc,docker", "--docker-socket", d.sock,
                                    "--listen", HOST, "--port", str(cls.port), "--host-name", HOST,
                                    "--interval", "3", "--window", "1")
        cls.agent.wait_ready(cls.port, timeout=GUARD_S)
        cls.url = "http://{host}:%d/v1/snapshot" % cls.port

    @classmethod
    def tearDownClass(cls):
        for p in cls.loads:
            p.kill()
            p.wait()
        if cls.agent is not None:
            cls.agent.close()
        cls.dockerd.stop()

    def measured(self):
        """The first snapshot that lists all six containers (the agent
        lists a container from the sweep after it first saw it): the
        lp.Cluster and its workloads by id."""
        import libplacement as lp
        fetcher = lp.Fetcher(self.url, timeout_ms=10000)
        end = time.monotonic() + GUARD_S
        wanted = set(self.busy + self.web)
        while True:
            cluster, errors = fetcher.fetch([HOST])
            if not errors:
                [host] = cluster.hosts()
                ws = {w["id"]: w for w in host["workloads"]}
                if wanted <= set(ws):
                    return cluster, ws
            self.assertLess(time.monotonic(), end, "the agent never listed every container: %s %s"
                            % (errors, self.agent.stderr_text()[-2000:]))
            time.sleep(1)

    def test_auto_requests_take_the_measured_class_of_their_image(self):
        import libplacement as lp
        cluster, ws = self.measured()
        for cid in self.busy + self.web:
            w = ws[cid]
            print("\n  %s: demand %.3f util %.4f wait %.2f net %.2e B/s class %s (%.2f)"
                  % (w["image"], w["demand"], w["util"], w.get("wait_ratio", -1), w.get("net_bps", -1),
                     w["class"], w["confidence"]), end="", file=sys.stderr)
        for cid in self.busy:
            self.assertEqual((ws[cid]["image"], ws[cid]["class"]), (BUSY, "cpu"), ws[cid])
        for cid in self.web:
            w = ws[cid]
            self.assertEqual((w["image"], w["class"]), (WEB, "net"), w)
            self.assertGreaterEqual(w["net_bps"], 1e6, w)
            self.assertLess(w["util"], 0.5, w)

        learner = lp.Learner()
        learner.observe(cluster)
        ctx = lp.Context()
        busy = ctx.resolve_learned({"vcpus": 2, "workload": "auto", "image": BUSY}, learner)
        self.assertEqual(busy[0], "cpu")
        # Its full parallelism, or the measured demand per vCPU (at most
        # one runnable thread per spinner, sampled) times its vCPUs.
        self.assertTrue(2.0 <= busy[1] <= 2.3, busy)
        self.assertRegex(busy[2], r"^class cpu learned from 3 running instances of image "
                                  r"lp-learn-busy:latest, confidence (0\.[7-9]\d|1\.00)$")
        web = ctx.resolve_learned({"vcpus": 2, "workload": "auto", "image": WEB}, learner)
        self.assertEqual(web[0], "net")
        self.assertTrue(0 < web[1] <= 2, web)
        self.assertRegex(web[2], r"^class net learned from 3 running instances of image "
                                 r"lp-learn-web:1, confidence (0\.[7-9]\d|1\.00)$")
        self.assertEqual(
            ctx.resolve_learned({"vcpus": 2, "workload": "auto", "image": "lp-learn-db:1"}, learner),
            ("unknown", 2.0, "no running instance of image lp-learn-db:1 measured"))

    def test_zun_containers_of_class_auto_get_the_runtime_of_their_image(self):
        self.measured()
        with ZunStandin(self.url) as zun:
            decided = zun.runtimes(["lp-learn-busy", WEB, "lp-learn-db:1"])
        self.assertEqual(decided, {"lp-learn-busy": "kata-runtime", WEB: "runc",
                                   "lp-learn-db:1": None})


def wait_serving(url):
    end = time.monotonic() + GUARD_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200 and len(r.read()) == PAGE_BYTES:
                    return
        except OSError as e:
            if time.monotonic() > end:
                raise AssertionError("nginx in its container does not serve %s: %s" % (url, e))
        time.sleep(0.2)


class ZunStandin:
    """zun_driver in the Zun stand-in (tests/zun/standin), its
    ``[libplacement] agent_url`` set to the agent."""

    def __init__(self, url):
        zun_tests = os.path.join(HERE, "..", "zun")
        sys.path[:0] = [os.path.join(zun_tests, "standin"), zun_tests]
        import zun.conf
        self.conf = zun.conf.CONF
        from zun_driver import filters  # registers [libplacement]
        self.filters = filters
        self.conf([], default_config_files=[])
        self.overrides = {"agent_url": url, "agent_timeout": 10.0,
                          # The cap is not under test: the spinners alone
                          # reserve more than this host's CPUs.
                          "max_parallel_ratio": 16.0}

    def __enter__(self):
        for name, value in self.overrides.items():
            self.conf.set_override(name, value, group="libplacement")
        return self

    def __exit__(self, *exc):
        for name in self.overrides:
            self.conf.clear_override(name, group="libplacement")

    def runtimes(self, images):
        """{Zun image: the runtime LibplacementFilter records for a new
        container of that image and class auto}, once the process's agent
        snapshots (and so its learner) have been refreshed."""
        import zunhelpers as zh
        from zun_driver import agents
        host = zh.host(HOST, cpus=os.cpu_count(), runtimes=zh.RUNC_KATA)
        self.filters.LibplacementFilter().filter_all([host], zh.container("idle", cpu=1), {})
        if not agents.shared(self.conf.libplacement).wait_idle(GUARD_S):
            raise AssertionError("the background refresh did not end")
        out = {}
        for image in images:
            cnt = zh.container(None, cpu=1)
            cnt.image = image
            cnt.save()
            self.filters.LibplacementFilter().filter_all([host], cnt, {})
            out[image] = cnt.runtime
        return out


if __name__ == "__main__":
    unittest.main(verbosity=2)
