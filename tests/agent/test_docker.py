"""The Docker collector against a dockerd started by the test.

dockerd runs with private data, exec and socket directories, no network
set-up and the vfs storage driver (dockerlib); the image is imported from a
tarball holding a statically linked spinner, so nothing is downloaded.
"""
import os
import subprocess
import sys
import time
import unittest

import agentlib
import dockerlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
VALIDATE = os.environ.get("VALIDATE", "build/agent-tests/validate")
SPIN_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spin.c")


class DockerTest(unittest.TestCase):
    """A busy container is found through the Engine API and classified cpu;
    its image and flavor label say what it was started from."""

    @classmethod
    def setUpClass(cls):
        cls.dockerd = dockerlib.PrivateDockerd("lp-agent-docker-")
        try:
            cls.dockerd.start()
            root = os.path.join(cls.dockerd.tmp, "rootfs")
            dockerlib.static_binary_image(SPIN_SRC, root, "spin", "-pthread")
            cls.dockerd.import_image(root, "lp-agent-spin:test")
            cls.cid = cls.dockerd.run(
                "--network", "none", "--cpuset-cpus", "0", "--name", "lp-agent-test-%d" % os.getpid(),
                "--label", "libplacement.flavor=c1.small", "--label", "tier=web",
                "lp-agent-spin:test", "/spin", "1", "60")
            cls.kata = cls.dockerd.run(
                "--network", "none", "--runtime", "kata-runtime",
                "--name", "lp-agent-kata-%d" % os.getpid(), "lp-agent-spin:test", "/spin", "1", "60")
            cls.sock = cls.dockerd.sock
            time.sleep(0.5)
        except Exception:  # SkipTest included: stop dockerd before leaving
            cls.dockerd.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dockerd.stop()

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

    def test_runtime_from_the_containers_docker_runtime(self):
        """A container run by the Docker runtime Zun names for Kata is a
        unikernel (the first runtime docker_runtimes names it for); the map
        is the operator's."""
        args = ("--collectors", "docker", "--docker-socket", self.sock)
        ws = {w["id"]: w for w in agentlib.agent_once(AGENT, VALIDATE, 0.5, *args)["workloads"]}
        self.assertEqual(ws[self.kata]["runtime"], "unikernel")
        self.assertEqual(ws[self.cid]["runtime"], "container")
        ws = {w["id"]: w for w in agentlib.agent_once(
            AGENT, VALIDATE, 0.5, *args, "--docker-runtimes", "container:runc,vm:kata-runtime")["workloads"]}
        self.assertEqual(ws[self.kata]["runtime"], "vm")
        r = subprocess.run([AGENT, "--once", *args, "--docker-runtimes", "pod:runc"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("docker-runtimes: unknown runtime 'pod'", r.stderr)
