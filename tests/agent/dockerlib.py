"""A private dockerd for the agent tests, and images built from local files.

dockerd runs with its own data, exec and socket directories, the vfs
storage driver, no iptables rules and no default bridge, so that it
touches nothing of the machine's own Docker (if any) and downloads
nothing: images are imported from directories the tests fill.
"""
import ipaddress
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest


class PrivateDockerd:
    """dockerd started by a test; ``start()`` raises unittest.SkipTest,
    saying why, when dockerd cannot run here.  ``stop()`` removes every
    container, network and file it made."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.sock = os.path.join(self.tmp, "docker.sock")
        self.proc = None
        self.log = None
        self.containers = []
        self.networks = []   # (name, bridge interface)

    def start(self):
        missing = [p for p in ("dockerd", "docker", "containerd", "runc") if not shutil.which(p)]
        if missing:
            raise unittest.SkipTest("not installed: %s (Debian package docker.io)" % ", ".join(missing))
        if os.geteuid() != 0:
            raise unittest.SkipTest("dockerd needs root")
        self.log = open(os.path.join(self.tmp, "dockerd.log"), "w")
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", self.tmp + "/data", "--exec-root", self.tmp + "/exec",
             "--pidfile", self.tmp + "/dockerd.pid", "-H", "unix://" + self.sock,
             "--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs",
             # the name Zun's default docker_runtimes gives Kata, served by runc
             # here (no Kata in Debian): enough to see which runtime the agent
             # reports for it
             "--add-runtime", "kata-runtime=" + shutil.which("runc")],
            stdout=self.log, stderr=self.log)
        end = time.monotonic() + 30
        while self.docker("version", check=False).returncode != 0:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise unittest.SkipTest("dockerd could not be started here: %s" % self.log_tail())
            time.sleep(0.3)

    def docker(self, *args, check=True):
        r = subprocess.run(["docker", "-H", "unix://" + self.sock, *args],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("docker %s: %s" % (" ".join(args), r.stderr))
        return r

    def import_image(self, root, ref):
        """Import the directory root as image ref (repo:tag)."""
        tar = os.path.join(self.tmp, ref.replace("/", "_").replace(":", "_") + ".tar")
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        self.docker("import", tar, ref)

    def run(self, *args):
        """docker run -d ARGS; the container's id.  SkipTest when dockerd
        runs but cannot start containers here."""
        r = self.docker("run", "-d", *args, check=False)
        if r.returncode != 0:
            raise unittest.SkipTest("dockerd runs but cannot start containers here: %s" % r.stderr)
        cid = r.stdout.strip()
        self.containers.append(cid)
        return cid

    def create_network(self, name):
        """A bridge network on a free /24 (the host reaches its containers
        directly: no NAT); its subnet."""
        subnet = free_subnet()
        bridge = "lpl%06x" % random.getrandbits(24)
        self.docker("network", "create", "--driver", "bridge", "--subnet", str(subnet),
                    "-o", "com.docker.network.bridge.name=" + bridge, name)
        self.networks.append((name, bridge))
        return subnet

    def address(self, cid):
        """The container's IPv4 address on its network."""
        r = self.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", cid)
        return r.stdout.strip()

    def log_tail(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-1500:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            if self.containers:
                self.docker("rm", "-f", *self.containers, check=False)
            for name, _bridge in self.networks:
                self.docker("network", "rm", name, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for _name, bridge in self.networks:
            if os.path.exists("/sys/class/net/" + bridge):
                subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        if self.log:
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def free_subnet():
    """A random 10.x.y.0/24 that overlaps no address or route of the host."""
    used = []
    for cmd in (["ip", "-4", "-o", "addr", "show"], ["ip", "-4", "route", "show", "table", "all"]):
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        for word in out.split():
            try:
                used.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
    rnd = random.Random()
    for _ in range(1000):
        net = ipaddress.ip_network("10.%d.%d.0/24" % (rnd.randrange(200, 255), rnd.randrange(256)))
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise AssertionError("no free 10.x.y.0/24 on this host")


def static_binary_image(src, root, name, *cflags):
    """Compile C source src statically into root/name (an image needs no
    libraries then); SkipTest when no static libc is there to link."""
    os.makedirs(root, exist_ok=True)
    r = subprocess.run(["cc", "-O2", "-static", *cflags, "-o", os.path.join(root, name), src],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot link a static %s for the image: %s" % (name, r.stderr))


def binary_with_libraries(binary, root):
    """Copy binary and the shared libraries it loads (ldd) into root, at
    their paths: an image for a dynamically linked program."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = [binary] + [w for w in out.split() if w.startswith("/")]
    for path in paths:
        dest = root + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.realpath(path), dest)
