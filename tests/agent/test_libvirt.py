"""The libvirt collector against a real libvirtd + QEMU, and the test driver.

The real test starts its own libvirtd (sockets in a private directory) and
virtlogd, boots two guests from 512-byte boot sectors it writes itself (one
spins, one halts), measures them with the agent, and stops everything.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import agentlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
VALIDATE = os.environ.get("VALIDATE", "build/agent-tests/validate")
QEMU = "/usr/bin/qemu-system-x86_64"
VIRTLOGD_SOCK = "/run/libvirt/virtlogd-sock"

# jmp $ (spin) / cli; hlt; jmp back to hlt (halt with interrupts off: idle)
SPIN_CODE = b"\xeb\xfe"
HALT_CODE = b"\xfa\xf4\xeb\xfd"

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>{qemu}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='hda' bus='ide'/>
    </disk>
  </devices>
</domain>
"""


def boot_sector(code):
    return code + b"\0" * (510 - len(code)) + b"\x55\xaa"


def built_with_libvirt():
    r = subprocess.run([AGENT, "--once", "--window", "0.1", "--collectors", "libvirt",
                        "--libvirt-uri", "test:///default"], capture_output=True, text=True, timeout=30)
    return "not built" not in r.stderr


class LibvirtTestDriverTest(unittest.TestCase):
    """test:///default has no bulk statistics: the per-domain fallback is used."""

    def test_per_domain_fallback(self):
        if not built_with_libvirt():
            self.skipTest("agent built without libvirt (libvirt-dev missing)")
        snap = agentlib.agent_once(AGENT, VALIDATE, 0.5, "--collectors", "libvirt",
                                   "--libvirt-uri", "test:///default")
        w = {w["id"]: w for w in snap["workloads"]}["6695eb01-f6a4-8304-79aa-97f2502e193f"]
        self.assertEqual(w["runtime"], "vm")
        self.assertEqual(w["vcpus"], 2)
        self.assertEqual(w["memory_mb"], 2048)
        # the test driver's CPU time is the wall clock: exactly one CPU busy
        self.assertAlmostEqual(w["util"], 1.0, delta=0.05)
        self.assertEqual(snap["runtimes"], ["vm"])


class LibvirtTest(unittest.TestCase):
    """A private libvirtd with two real QEMU guests."""

    @classmethod
    def setUpClass(cls):
        missing = [p for p in ("/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/virsh", QEMU)
                   if not os.path.exists(p)]
        if missing:
            raise unittest.SkipTest("not installed: %s (scripts/deps/agent.txt)" % ", ".join(missing))
        if os.geteuid() != 0:
            raise unittest.SkipTest("a system libvirtd needs root")
        if not built_with_libvirt():
            raise unittest.SkipTest("agent built without libvirt (libvirt-dev missing)")
        cls.procs = []
        cls.tmp = tempfile.mkdtemp(prefix="lp-agent-libvirt-")
        os.chmod(cls.tmp, 0o755)  # QEMU runs as libvirt-qemu and opens the disks here
        try:
            cls._start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        sock_dir = os.path.join(cls.tmp, "run")
        os.mkdir(sock_dir)
        conf = os.path.join(cls.tmp, "libvirtd.conf")
        with open(conf, "w") as f:
            f.write('unix_sock_dir = "%s"\nauth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                    'log_outputs = "3:file:%s/libvirtd.log"\n' % (sock_dir, cls.tmp))
        if not cls._listening(VIRTLOGD_SOCK):
            cls.procs.append(subprocess.Popen(["/usr/sbin/virtlogd"], stderr=subprocess.DEVNULL))
        cls.procs.append(subprocess.Popen(["/usr/sbin/libvirtd", "-f", conf,
                                           "-p", os.path.join(cls.tmp, "libvirtd.pid")],
                                          stderr=subprocess.DEVNULL))
        cls.uri = "qemu:///system?socket=%s/libvirt-sock" % sock_dir
        end = time.monotonic() + 20
        while not (cls._listening(sock_dir + "/libvirt-sock") and cls._listening(VIRTLOGD_SOCK)):
            if time.monotonic() > end or cls.procs[-1].poll() is not None:
                raise AssertionError("libvirtd did not start: %s" % cls._log())
            time.sleep(0.1)
        cls.names = {}
        for kind, code in (("spin", SPIN_CODE), ("halt", HALT_CODE)):
            disk = os.path.join(cls.tmp, kind + ".img")
            with open(disk, "wb") as f:
                f.write(boot_sector(code))
            name = "lp-agent-test-%d-%s" % (os.getpid(), kind)
            xml = os.path.join(cls.tmp, kind + ".xml")
            with open(xml, "w") as f:
                f.write(DOMAIN_XML.format(name=name, qemu=QEMU, disk=disk))
            cls.virsh("create", xml)
            cls.names[kind] = name
        cls.uuids = {k: cls.virsh("domuuid", n).strip() for k, n in cls.names.items()}
        time.sleep(2)  # let SeaBIOS reach the boot sector

    @classmethod
    def _listening(cls, path):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    @classmethod
    def _log(cls):
        try:
            with open(os.path.join(cls.tmp, "libvirtd.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return "(no log)"

    @classmethod
    def virsh(cls, *args):
        r = subprocess.run(["virsh", "-c", cls.uri, *args], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("virsh %s: %s\n%s" % (" ".join(args), r.stderr, cls._log()))
        return r.stdout

    @classmethod
    def tearDownClass(cls):
        for name in getattr(cls, "names", {}).values():
            subprocess.run(["virsh", "-c", cls.uri, "destroy", name], capture_output=True, timeout=60)
        for p in reversed(cls.procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_spinning_guest_is_one_busy_vcpu_and_halted_guest_idle(self):
        snap = agentlib.agent_once(AGENT, VALIDATE, 3.0, "--collectors", "libvirt,proc",
                                   "--libvirt-uri", self.uri)
        ws = {w["id"]: w for w in snap["workloads"]}
        spin, halt = ws[self.uuids["spin"]], ws[self.uuids["halt"]]
        print("\n  spinning guest: demand %.3f util %.3f class %s; halted guest: demand %.3f class %s"
              % (spin["demand"], spin["util"], spin["class"], halt["demand"], halt["class"]), file=sys.stderr)
        for w in (spin, halt):
            self.assertEqual(w["runtime"], "vm")
            self.assertEqual(w["vcpus"], 1)
        # demand = vCPU run + wait for a host CPU: one vCPU always runnable
        self.assertLessEqual(abs(spin["demand"] - 1.0), 0.15, spin)
        self.assertEqual(spin["class"], "cpu", spin)
        self.assertLess(halt["demand"], 0.1, halt)
        self.assertEqual(halt["class"], "idle", halt)
        # the QEMU processes are not reported a second time by the proc collector
        self.assertFalse([i for i in ws if i.startswith("qemu:")], list(ws))
