"""The Docker collector against a dockerd started by the test.

dockerd runs with private data, exec and socket directories, no network
set-up and the vfs storage driver; the image is imported from a tarball
holding a statically linked spinner, so nothing is downloaded.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import agentlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
VALIDATE = os.environ.get("VALIDATE", "build/agent-tests/validate")
SPIN_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spin.c")


class DockerTest(unittest.TestCase):
    """A busy container is found through the Engine API and classified cpu;
    its image and flavor label say what it was started from."""

    @classmethod
    def setUpClass(cls):
        missing = [p for p in ("dockerd", "docker", "containerd", "runc") if not shutil.which(p)]
        if missing:
            raise unittest.SkipTest("not installed: %s (Debian package docker.io)" % ", ".join(missing))
        if os.geteuid() != 0:
            raise unittest.SkipTest("dockerd needs root")
        cls.tmp = tempfile.mkdtemp(prefix="lp-agent-docker-")
        cls.sock = os.path.join(cls.tmp, "docker.sock")
        cls.log = open(os.path.join(cls.tmp, "dockerd.log"), "w")
        cls.dockerd = subprocess.Popen(
            ["dockerd", "--data-root", cls.tmp + "/data", "--exec-root", cls.tmp + "/exec",
             "--pidfile", cls.tmp + "/dockerd.pid", "-H", "unix://" + cls.sock,
             "--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs"],
            stdout=cls.log, stderr=cls.log)
        try:
            cls._start()
        except Exception:  # SkipTest included: stop dockerd before leaving
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        end = time.monotonic() + 30
        while cls.docker("version", check=False).returncode != 0:
            if time.monotonic() > end or cls.dockerd.poll() is not None:
                raise unittest.SkipTest("dockerd could not be started here: %s" % cls._log_tail())
            time.sleep(0.3)
        root = os.path.join(cls.tmp, "rootfs")
        os.mkdir(root)
        r = subprocess.run(["cc", "-O2", "-static", "-pthread", "-o", root + "/spin", SPIN_SRC],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot link a static spinner for the image: %s" % r.stderr)
        subprocess.run(["tar", "-C", root, "-cf", cls.tmp + "/rootfs.tar", "."], check=True)
        cls.docker("import", cls.tmp + "/rootfs.tar", "lp-agent-spin:test")
        name = "lp-agent-test-%d" % os.getpid()
        r = cls.docker("run", "-d", "--network", "none", "--cpuset-cpus", "0", "--name", name,
                       "--label", "libplacement.flavor=c1.small", "--label", "tier=web",
                       "lp-agent-spin:test", "/spin", "1", "60", check=False)
        if r.returncode != 0:
            raise unittest.SkipTest("dockerd runs but cannot start containers here: %s" % r.stderr)
        cls.cid = r.stdout.strip()
        time.sleep(0.5)

    @classmethod
    def docker(cls, *args, check=True):
        r = subprocess.run(["docker", "-H", "unix://" + cls.sock, *args],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("docker %s: %s" % (" ".join(args), r.stderr))
        return r

    @classmethod
    def _log_tail(cls):
        cls.log.flush()
        with open(cls.log.name) as f:
            return f.read()[-1500:]

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "cid", None):
            cls.docker("rm", "-f", cls.cid, check=False)
        if cls.dockerd.poll() is None:
            cls.dockerd.send_signal(signal.SIGTERM)
            try:
                cls.dockerd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.dockerd.kill()
                cls.dockerd.wait()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_busy_container_found_and_classified_cpu(self):
        snap = agentlib.agent_once(AGENT, VALIDATE, 2.0, "--collectors", "proc,docker",
                                   "--docker-socket", self.sock)
        ws = {w["id"]: w for w in snap["workloads"]}
        self.assertIn(self.cid, ws, list(ws))
        w = ws[self.cid]
        print("\n  container: demand %.3f util %.3f class %s" % (w["demand"], w["util"], w["class"]),
              file=sys.stderr)
        self.assertEqual(w["runtime"], "container")
        self.assertEqual(w["class"], "cpu", w)
        self.assertLessEqual(abs(w["demand"] - 1.0), 0.15, w)
        self.assertIn("container", snap["runtimes"])
        self.assertEqual(w["image"], "lp-agent-spin:test")
        self.assertEqual(w["flavor"], "c1.small")
        # limited to CPU 0 of the host's CPUs
        self.assertEqual(w.get("vcpus", 0), 1 if os.cpu_count() > 1 else 0)
        # the container's cgroup is not reported a second time
        self.assertFalse([i for i in ws if i.startswith("/docker/")], list(ws))
