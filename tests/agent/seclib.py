"""Helpers for the agent's security tests: a test PKI made with openssl,
secret files, raw HTTP requests, a slowloris client."""
import os
import socket
import ssl
import subprocess
import threading
import time


def write_secret(path, data, mode=0o600):
    """Write bytes to path with the given mode (set before the data goes in)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class TestPKI:
    """Two CAs (the agent's and another), a server certificate for 127.0.0.1
    and localhost signed by the first, client certificates signed by a client
    CA and by the other CA, and a key that belongs to no certificate. All keys
    P-256, all files in directory d, keys mode 600."""

    def __init__(self, d):
        self.d = d
        self.ca, self.ca_key = self._ca("server-ca")
        self.other_ca, self.other_ca_key = self._ca("other-ca")
        self.client_ca, self.client_ca_key = self._ca("client-ca")
        self.cert, self.key = self._leaf("server", self.ca, self.ca_key,
                                         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                         "extendedKeyUsage=serverAuth\n")
        self.client_cert, self.client_key = self._leaf("client", self.client_ca, self.client_ca_key,
                                                       "extendedKeyUsage=clientAuth\n")
        self.rogue_cert, self.rogue_key = self._leaf("rogue", self.other_ca, self.other_ca_key,
                                                     "extendedKeyUsage=clientAuth\n")
        self.stray_key = self._key("stray")

    def path(self, name):
        return os.path.join(self.d, name)

    def _key(self, name):
        key = self.path(name + ".key")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        os.chmod(key, 0o600)
        return key

    def _ca(self, name):
        key = self._key(name)
        cert = self.path(name + ".pem")
        _openssl("req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name)
        return cert, key

    def _leaf(self, name, ca, ca_key, ext):
        key = self._key(name)
        csr, cert, extfile = self.path(name + ".csr"), self.path(name + ".pem"), self.path(name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext)
        _openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + name)
        _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", cert, "-days", "2", "-extfile", extfile)
        return cert, key

    def client_context(self, cafile=None, cert=None, key=None):
        """A TLS client context trusting cafile (default: the agent's CA)."""
        ctx = ssl.create_default_context(cafile=cafile or self.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx


def raw_request(port, data, timeout=30, addr="127.0.0.1"):
    """Send bytes as they are, return the status line of the answer
    (b"" when the server closed without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(addr, 0)) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\r\n")[0]


def status_of(line):
    """The status code in an HTTP status line, 0 for none."""
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


class Slowloris:
    """Keeps n connections from addr to the port, each sending one byte of an
    endless request head per period; those the server closes are opened
    again at the next round."""

    HEAD = b"GET /v1/snapshot HTTP/1.1\r\nHost: agent\r\nX-Slow: " + b"a" * 100000

    def __init__(self, port, n, addr="127.0.0.2", period=1.0):
        self.port, self.n, self.addr, self.period = port, n, addr, period
        self.socks = {}  # socket -> bytes sent
        self.reopened = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._top_up()
        self.thread.start()
        return self

    def _top_up(self):
        while len(self.socks) < self.n:
            s = socket.socket()
            s.setblocking(False)
            s.bind((self.addr, 0))
            s.connect_ex(("127.0.0.1", self.port))
            self.socks[s] = 0

    def _run(self):
        while not self.stop_event.wait(self.period):
            for s, sent in list(self.socks.items()):
                try:
                    if s.send(self.HEAD[sent:sent + 1]) == 1:
                        self.socks[s] = sent + 1
                except BlockingIOError:
                    pass
                except OSError:  # closed or refused by the server
                    s.close()
                    del self.socks[s]
                    self.reopened += 1
            self._top_up()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=30)
        for s in self.socks:
            s.close()
        self.socks = {}


def poll(pred, timeout, what, interval=0.1):
    """Wait until pred() is true; fail (a hang guard, not a speed check) after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("gave up after %g s waiting for %s" % (timeout, what))
