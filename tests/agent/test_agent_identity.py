#!/usr/bin/python3
"""A process's identity follows exec.

libvirt starts a guest by forking, moving the child into the machine's cgroup
and then exec'ing QEMU; a shell may join a cgroup and exec a program later.
An agent sweeping in between sees the process before it runs what it will
run: it must become what it execs. Real processes in a real cgroup: a shell
and a forked child that exec a real QEMU (its -uuid names the VM), a QEMU
stand-in that execs a plain program, a shell that execs another plain
program. The agent sweeps every INTERVAL seconds; every wait is a hang guard,
never a measure of speed. Environment: AGENT, SPIN (paths of the binaries
built by the Makefile).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentlib  # noqa: E402

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
SPIN = os.environ.get("SPIN", "build/agent-tests/spin")
QEMU = "/usr/bin/qemu-system-x86_64"
INTERVAL = 0.1
HANG_GUARD = 60
# A boot sector that spins (jmp $): the guest keeps one vCPU busy.
SPIN_SECTOR = b"\xeb\xfe" + b"\0" * 508 + b"\x55\xaa"


class Launcher:
    """A process waiting in a cgroup to exec argv until go() is called: a
    shell (started by exec, as a unit's or a container's shell is), or a
    child forked from this test that has not exec'd yet (as libvirt's child
    is when it is moved into the machine's cgroup)."""

    def __init__(self, cg, argv, forked):
        self.forked = forked
        if forked:
            r, self.w = os.pipe()
            self.pid = os.fork()
            if self.pid == 0:  # the child: wait for go(), then exec
                try:
                    os.close(self.w)
                    os.read(r, 1)
                    os.execv(argv[0], argv)
                finally:
                    os._exit(127)
            os.close(r)
        else:
            self.proc = subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$@"', "sh", *argv],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            self.pid = self.proc.pid
        cg.add(self.pid)

    def go(self):
        if self.forked:
            os.write(self.w, b"x")
            os.close(self.w)
        else:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()

    def stop(self):
        """Kill it (whatever it runs by now) and reap it."""
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        if self.forked:
            os.waitpid(self.pid, 0)
            try:
                os.close(self.w)
            except OSError:
                pass
        else:
            self.proc.wait()
            if not self.proc.stdin.closed:
                self.proc.stdin.close()


class ExecIdentityTest(unittest.TestCase):
    """The proc collector alone, sweeping every INTERVAL s, over a cgroup
    holding a sleeping process (its workload stays) and a process that
    execs once it has been swept."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to create cgroups")
        self.cg = agentlib.Cgroup("exec-%s" % self._testMethodName[-24:])
        self.addCleanup(self.cg.destroy)
        self.cg.spawn(["sleep", "600"])
        self.port = agentlib.free_port()
        self.agent = agentlib.Daemon(AGENT, "--port", str(self.port), "--interval", str(INTERVAL),
                                     "--window", str(INTERVAL), "--collectors", "proc")
        self.addCleanup(self.agent.close)
        self.agent.wait_ready(self.port)
        self.tmp = tempfile.mkdtemp(prefix="lp-agent-exec-")
        self.addCleanup(subprocess.run, ["rm", "-rf", self.tmp])

    def snapshot(self):
        status, _, body = agentlib.http_get(self.port, "/v1/snapshot")
        self.assertEqual(status, 200, body)
        snap = json.loads(body)
        return snap["time"], {w["id"]: w for w in snap["workloads"]}

    def wait_snapshot(self, cond, what, after=0.0):
        """The first snapshot computed after time `after` whose workloads
        satisfy cond; fails (naming what) when none does within the hang guard."""
        end = time.monotonic() + HANG_GUARD
        while True:
            t, ws = self.snapshot()
            if t > after and cond(ws):
                return t, ws
            if time.monotonic() > end:
                self.fail("%s: not seen within %d s; last snapshot: %s\nagent: %s"
                          % (what, HANG_GUARD, ws, self.agent.stderr_text()))
            time.sleep(INTERVAL / 2)

    def launch(self, argv, forked=False):
        """A launcher of argv in the cgroup, once a sweep has seen it there
        (the cgroup's workload counts it beside the sleeper)."""
        launcher = Launcher(self.cg, argv, forked)
        self.addCleanup(launcher.stop)
        self.wait_snapshot(lambda ws: ws.get(self.cg.rel, {}).get("threads") == 2,
                           "the launcher %d in the cgroup's workload" % launcher.pid)
        return launcher

    def qemu_argv(self, vm_uuid, name):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("not installed: %s (scripts/deps/agent.txt)" % QEMU)
        disk = os.path.join(self.tmp, "spin.img")
        with open(disk, "wb") as f:
            f.write(SPIN_SECTOR)
        return [QEMU, "-machine", "pc,accel=tcg", "-m", "32", "-display", "none", "-nodefaults",
                "-no-user-config", "-uuid", vm_uuid, "-name", "guest=%s,debug-threads=on" % name,
                "-smp", "2", "-drive", "file=%s,format=raw,if=ide" % disk]

    def assert_becomes_vm(self, forked):
        vm_uuid, name = str(uuid.uuid4()), "lp-agent-exec-%d" % os.getpid()
        launcher = self.launch(self.qemu_argv(vm_uuid, name), forked)
        launcher.go()
        t, ws = self.wait_snapshot(lambda ws: vm_uuid in ws, "the exec'd QEMU listed as VM %s" % vm_uuid)
        vm = ws[vm_uuid]
        self.assertEqual(vm["runtime"], "vm", vm)
        self.assertEqual(vm["vcpus"], 2, vm)
        # A later window: the VM's own counters, started when it was
        # identified, give its rates; the cgroup's workload keeps only the
        # sleeper, which never runs.
        t, ws = self.wait_snapshot(lambda ws: vm_uuid in ws and "demand" in ws[vm_uuid], "the VM's rates",
                                   after=t + 1.0)
        vm, rest = ws[vm_uuid], ws[self.cg.rel]
        print("\n  QEMU exec'd by a %s: VM demand %.3f threads %g; the cgroup's workload demand %.3f threads %g"
              % ("forked child" if forked else "shell", vm["demand"], vm["threads"], rest["demand"],
                 rest["threads"]), file=sys.stderr)
        self.assertGreater(vm["demand"], 0.5, vm)  # a spinning vCPU runs or waits all the time
        self.assertGreater(vm["threads"], 2, vm)  # its main thread and its vCPUs, started after exec
        self.assertEqual(rest["threads"], 1, rest)
        self.assertLess(rest["demand"], 0.05, rest)

    def test_qemu_execd_by_a_shell_becomes_its_vm(self):
        self.assert_becomes_vm(forked=False)

    def test_qemu_execd_between_fork_and_exec_becomes_its_vm(self):
        """libvirt's sequence: fork, move the child into the cgroup, exec QEMU."""
        self.assert_becomes_vm(forked=True)

    def test_vm_process_that_execs_a_plain_program_returns_to_its_cgroup(self):
        """A QEMU stand-in (a script named as QEMU, its command line carrying
        -uuid) is the VM until it execs a plain program."""
        vm_uuid = str(uuid.uuid4())
        stand_in = os.path.join(self.tmp, "qemu-system-x86_64")
        with open(stand_in, "w") as f:
            f.write("#!/bin/sh\nread x\nexec sleep 600\n")
        os.chmod(stand_in, 0o755)
        p = subprocess.Popen([stand_in, "-uuid", vm_uuid, "-smp", "3"], stdin=subprocess.PIPE)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        self.cg.add(p.pid)
        self.wait_snapshot(lambda ws: ws.get(vm_uuid, {}).get("vcpus") == 3, "the stand-in as VM %s" % vm_uuid)
        p.stdin.write(b"go\n")
        p.stdin.close()
        self.wait_snapshot(lambda ws: vm_uuid not in ws and ws.get(self.cg.rel, {}).get("threads") == 2,
                           "the exec'd sleep back in the cgroup's workload")

    def test_plain_process_that_execs_a_plain_program_keeps_its_cgroup(self):
        launcher = self.launch([SPIN, "2", "60"])
        launcher.go()
        t, ws = self.wait_snapshot(lambda ws: ws.get(self.cg.rel, {}).get("threads") == 3,
                                   "the spinner's 2 threads in the cgroup's workload")
        # still there a window later, with the spinner's demand
        t, ws = self.wait_snapshot(lambda ws: self.cg.rel in ws, "the cgroup's workload", after=t + 1.0)
        w = ws[self.cg.rel]
        self.assertEqual(w["threads"], 3, w)
        self.assertNotEqual(w.get("runtime"), "vm", w)
        self.assertGreater(w["demand"], 1.0, w)  # 2 spinning threads


if __name__ == "__main__":
    unittest.main(verbosity=2)
