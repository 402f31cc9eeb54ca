"""The libvirt collector against a real libvirtd + QEMU, and the test driver.

The real test starts its own libvirtd (sockets in a private directory) and
virtlogd, boots two guests from 512-byte boot sectors it writes itself (one
spins, one halts) with the metadata Nova's libvirt driver writes (made by
Nova's own config classes), measures them with the agent, with and without
the libvirt collector, and stops everything.
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
import warnings

import agentlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
VALIDATE = os.environ.get("VALIDATE", "build/agent-tests/validate")
QEMU = "/usr/bin/qemu-system-x86_64"

# jmp $ (spin) / cli; hlt; jmp back to hlt (halt with interrupts off: idle)
SPIN_CODE = b"\xeb\xfe"
HALT_CODE = b"\xfa\xf4\xeb\xfd"

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <metadata>{metadata}</metadata>
  <memory unit='MiB'>32</memory>
  <vcpu>{vcpus}</vcpu>
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


def nova_metadata(name, flavor, vcpus, image):
    """The <nova:instance> element as Nova's libvirt driver writes it
    (LibvirtDriver._get_guest_config_meta)."""
    with warnings.catch_warnings():  # Nova's imports warn about their dependencies
        warnings.simplefilter("ignore")
        from nova.virt.libvirt import config as vconfig
    meta = vconfig.LibvirtConfigGuestMetaNovaInstance()
    meta.package = "26.2.2"
    meta.name = name
    meta.creationTime = time.time()
    meta.roottype, meta.rootid = "image", image
    fl = vconfig.LibvirtConfigGuestMetaNovaFlavor()
    fl.name, fl.memory, fl.vcpus, fl.disk, fl.swap, fl.ephemeral = flavor, 32, vcpus, 1, 0, 0
    meta.flavor = fl
    owner = vconfig.LibvirtConfigGuestMetaNovaOwner()
    owner.userid, owner.username, owner.projectid, owner.projectname = "u1", "admin", "p1", "demo"
    meta.owner = owner
    return meta.to_xml()


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
        # QEMU/KVM hosts offer what Nova's [libplacement] hypervisor_runtimes
        # gives them: VMs, which can boot unikernel images too
        self.assertEqual(snap["runtimes"], ["unikernel", "vm"])


class LibvirtTest(unittest.TestCase):
    """A private libvirtd with two real QEMU guests booted by Nova's rules."""

    GUESTS = {"spin": {"vcpus": 1, "flavor": "m1.tiny", "image": "155d900f-4e14-4e4c-a73d-069cbf4541e6"},
              # a flavor name with characters XML escapes
              "halt": {"vcpus": 2, "flavor": 'm1.small & "fast"', "image": "b5a4e3e0-1f5c-4a7e-9b61-1f7d4c2d8e90"}}

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
        try:
            nova_metadata("probe", "m1.tiny", 1, "155d900f-4e14-4e4c-a73d-069cbf4541e6")
        except ImportError as e:
            raise unittest.SkipTest("Nova's libvirt driver is not installed (python3-nova): %s" % e)
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
        # The daemons run in a mount namespace of their own with empty
        # /run/libvirt, /var/lib/libvirt and /var/cache/libvirt, so that their
        # pid files and state never meet those of a libvirtd already running
        # on this machine (the system's, or another test's); only the socket
        # directory and the disks, under cls.tmp, are shared with the test.
        cls.virtlogd_pid = os.path.join(cls.tmp, "virtlogd.pid")
        script = ("set -e; for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt; do "
                  "mkdir -p $d; mount -t tmpfs -o mode=0755 tmpfs $d; done; "
                  "/usr/sbin/virtlogd -d -p %s; exec /usr/sbin/libvirtd -f %s -p %s"
                  % (cls.virtlogd_pid, conf, os.path.join(cls.tmp, "libvirtd.pid")))
        cls.procs.append(subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                           "/bin/sh", "-c", script],
                                          stderr=subprocess.DEVNULL))
        cls.uri = "qemu:///system?socket=%s/libvirt-sock" % sock_dir
        end = time.monotonic() + 30
        while not cls._listening(sock_dir + "/libvirt-sock"):
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
            g = cls.GUESTS[kind]
            with open(xml, "w") as f:
                f.write(DOMAIN_XML.format(name=name, qemu=QEMU, disk=disk, vcpus=g["vcpus"],
                                          metadata=nova_metadata(name, g["flavor"], g["vcpus"], g["image"])))
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
        try:
            with open(cls.virtlogd_pid) as f:
                os.kill(int(f.read().strip()), signal.SIGTERM)
        except (AttributeError, OSError, ValueError):
            pass  # never started, or already gone
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_spinning_guest_is_one_busy_vcpu_and_halted_guest_idle(self):
        snap = agentlib.agent_once(AGENT, VALIDATE, 3.0, "--collectors", "libvirt,proc",
                                   "--libvirt-uri", self.uri)
        ws = {w["id"]: w for w in snap["workloads"]}
        spin, halt = ws[self.uuids["spin"]], ws[self.uuids["halt"]]
        print("\n  spinning guest: demand %.3f util %.3f class %s; halted guest: demand %.3f class %s"
              % (spin["demand"], spin["util"], spin["class"], halt["demand"], halt["class"]), file=sys.stderr)
        for kind, w in (("spin", spin), ("halt", halt)):
            self.assertEqual(w["runtime"], "vm")
            self.assertEqual(w["vcpus"], self.GUESTS[kind]["vcpus"])
            # what it was started from, from Nova's metadata
            self.assertEqual(w["flavor"], self.GUESTS[kind]["flavor"])
            self.assertEqual(w["image"], self.GUESTS[kind]["image"])
        # demand = vCPU run + wait for a host CPU: one vCPU always runnable
        self.assertLessEqual(abs(spin["demand"] - 1.0), 0.15, spin)
        self.assertEqual(spin["class"], "cpu", spin)
        self.assertLess(halt["demand"], 0.1, halt)
        self.assertEqual(halt["class"], "idle", halt)
        # each VM is one workload: the QEMU processes the proc collector sees
        # are the same workloads, not others beside them
        self.assertEqual(len(ws), len(snap["workloads"]))
        self.assertFalse([i for i in ws if i.startswith("qemu:") or i.startswith("/machine")], list(ws))

    def test_proc_collector_alone_gives_the_same_ids(self):
        """Without libvirt (collector off, or libvirtd down) a VM is still
        its instance UUID: QEMU's -uuid, with its -smp vCPUs."""
        snap = agentlib.agent_once(AGENT, VALIDATE, 3.0, "--collectors", "proc")
        ws = {w["id"]: w for w in snap["workloads"]}
        for kind, uuid in self.uuids.items():
            self.assertIn(uuid, ws, list(ws))
            w = ws[uuid]
            print("\n  %s guest seen by proc alone: demand %.3f vcpus %g threads %g" % (
                kind, w["demand"], w["vcpus"], w["threads"]), file=sys.stderr)
            self.assertEqual(w["runtime"], "vm")
            self.assertEqual(w["vcpus"], self.GUESTS[kind]["vcpus"])
        # QEMU's own threads beside the vCPU: a little more than one vCPU
        self.assertGreater(ws[self.uuids["spin"]]["demand"], 0.85)
        self.assertLess(ws[self.uuids["spin"]]["demand"], 2.0)
        self.assertFalse([i for i in ws if i.startswith("qemu:") or i.startswith("/machine")], list(ws))
