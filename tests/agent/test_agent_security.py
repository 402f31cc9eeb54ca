#!/usr/bin/python3
"""Security of libplacement-agent, against the real binary.

TLS with a test PKI made here with openssl (handshake, wrong CA, client
certificates, bad files refused at start), the bearer token (files refused at
start, full-length comparison, scheme case, nothing after the token, /metrics
guarded), connection limits (a slowloris from one address while another is
served, the request deadline, SIGTERM with every connection taken), the
log's rate limit and SIGHUP reloading the token and the configuration.

No assertion is about speed: the time limits are hang guards.
Environment: AGENT (the binary), LPCTL (the scheduler's fetcher as a command),
AGENT_QUICK=1 for a sanitizer build (skips the slowloris, whose thousands of
connections are load, not behaviour).
"""
import ctypes
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentlib  # noqa: E402
import seclib  # noqa: E402

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
LPCTL = os.environ.get("LPCTL", "build/lpctl")
QUICK = bool(os.environ.get("AGENT_QUICK"))
TOKEN = b"0123456789abcdef-._~+/XYZ=="
HANG = 60  # seconds: hang guard for anything that waits


def setUpModule():
    # The slowloris and full-table tests hold over a thousand sockets here.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192 and (hard == resource.RLIM_INFINITY or hard >= 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))


def mhd_version():
    lib = ctypes.CDLL("libmicrohttpd.so.12")
    lib.MHD_get_version.restype = ctypes.c_char_p
    return tuple(int(x) for x in lib.MHD_get_version().decode().split(".")[:3])


class Agent(agentlib.Daemon):
    """The agent as a daemon on a free port, stderr kept; https when TLS is on."""

    def __init__(self, *args, ctx=None):
        self.port = agentlib.free_port()
        self.ctx = ctx
        super().__init__(AGENT, "--port", str(self.port), "--collectors", "proc", *args)

    def get(self, path, token=None, headers=None, ctx=None, addr="127.0.0.1"):
        """(status, body) of GET path; token sent as a Bearer token."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + (token.decode() if isinstance(token, bytes) else token)
        ctx = ctx or self.ctx
        if ctx:
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=HANG, context=ctx,
                                            source_address=(addr, 0))
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HANG, source_address=(addr, 0))
        try:
            c.request("GET", path, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def ready(self):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError("agent exited (%d): %s" % (self.proc.returncode, self.stderr_text()))
            try:
                return self.get("/healthz")[0] == 200
            except (OSError, http.client.HTTPException):
                return False
        seclib.poll(up, HANG, "the agent to answer /healthz: " + self.stderr_text())
        return self


class Tmp(unittest.TestCase):
    """A test with a private directory and agents stopped at the end."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lp-agentsec-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def file(self, name, data, mode=0o600):
        return seclib.write_secret(os.path.join(self.tmp, name), data, mode)

    def agent(self, *args, ctx=None):
        a = Agent(*args, ctx=ctx)
        self.addCleanup(self.stop_agent, a)
        return a.ready()

    def stop_agent(self, a):
        """SIGTERM: exit status 0, or the sanitizer's report. Once per agent."""
        if a.err.closed:
            return
        a.stop()
        err = a.stderr_text()
        a.close()
        self.assertEqual(a.proc.returncode, 0, err)

    def refused(self, *args):
        """Run the agent as a daemon with args: it must refuse to start (exit 2)
        and say why on stderr, which is returned."""
        r = subprocess.run([AGENT, "--port", str(agentlib.free_port()), "--collectors", "proc", *args],
                           capture_output=True, text=True, timeout=HANG)
        self.assertEqual(r.returncode, 2, "started or failed otherwise: %s" % r.stderr)
        return r.stderr


class TokenFileTest(Tmp):
    """The token file is checked at start: never truncated, never half-read."""

    def test_longer_than_4096_bytes_is_refused_not_truncated(self):
        err = self.refused("--token-file", self.file("t", b"a" * 4097 + b"\n"))
        self.assertIn("4097 bytes, more than the 4096 allowed", err)
        err = self.refused("--token-file", self.file("t", b"a" * 300000))
        self.assertIn("more than the 65536 allowed", err)

    def test_4096_bytes_are_all_compared(self):
        token = b"k" * 4095 + b"z"
        a = self.agent("--token-file", self.file("t", token + b"\n"))
        self.assertEqual(a.get("/v1/snapshot", token)[0], 200)
        self.assertEqual(a.get("/v1/snapshot", token[:255])[0], 401)
        self.assertEqual(a.get("/v1/snapshot", token[:-1] + b"y")[0], 401)
        self.assertEqual(a.get("/v1/snapshot", token + b"z")[0], 401)

    def test_nul_anywhere_is_refused(self):
        for data, byte in ((b"\0secret\n", 1), (b"abcd\0efgh\n", 5), (b"secret\0", 7)):
            with self.subTest(data=data):
                err = self.refused("--token-file", self.file("t", data))
                self.assertIn("byte %d is 0x00" % byte, err)

    def test_control_characters_and_spaces_are_refused(self):
        for data, shown in ((b"abc\tdef", "0x09"), (b"abc def", "0x20"), (b"abc\n\n", "0x0a"),
                            (b"abc\ndef\n", "0x0a"), (b"abc\x7f", "0x7f"), (b"caf\xc3\xa9", "0xc3"),
                            (b"ab\"c", "'\"'"), (b"=abc", "'='"), (b"ab=c", "'c'")):
            with self.subTest(data=data):
                self.assertIn("is %s" % shown, self.refused("--token-file", self.file("t", data)))

    def test_empty_is_refused(self):
        for data in (b"", b"\n", b"\r\n"):
            self.assertIn("empty", self.refused("--token-file", self.file("t", data)))

    def test_one_line_end_is_stripped(self):
        for data in (TOKEN, TOKEN + b"\n", TOKEN + b"\r\n"):
            with self.subTest(data=data):
                a = self.agent("--token-file", self.file("t", data))
                self.assertEqual(a.get("/v1/snapshot", TOKEN)[0], 200)
                self.stop_agent(a)

    def test_group_or_world_accessible_file_is_refused(self):
        for mode in (0o640, 0o604, 0o660, 0o602):
            with self.subTest(mode=oct(mode)):
                err = self.refused("--token-file", self.file("t", TOKEN, mode))
                self.assertIn("accessible by group or others (mode %04o); chmod 600" % mode, err)

    def test_file_of_another_user_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give the file to another user")
        path = self.file("t", TOKEN)
        os.chown(path, 65534, -1)
        self.assertIn("owned by uid 65534", self.refused("--token-file", path))

    def test_missing_file_and_directory_are_refused(self):
        self.assertIn("No such file", self.refused("--token-file", os.path.join(self.tmp, "none")))
        self.assertIn("not a regular file", self.refused("--token-file", self.tmp))


class BearerTest(Tmp):
    """Requests against an agent with a token."""

    def setUp(self):
        super().setUp()
        self.a = self.agent("--token-file", self.file("t", TOKEN + b"\n"))

    def auth(self, value):
        return self.a.get("/v1/snapshot", headers={"Authorization": value})[0]

    def test_snapshot_needs_the_token(self):
        self.assertEqual(self.a.get("/v1/snapshot")[0], 401)
        self.assertEqual(self.a.get("/v1/snapshot", "wrong")[0], 401)
        status, body = self.a.get("/v1/snapshot", TOKEN)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["schema"], "libplacement/snapshot/v1")

    def test_scheme_is_case_insensitive(self):
        for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
            self.assertEqual(self.auth(scheme + " " + TOKEN.decode()), 200, scheme)
        self.assertEqual(self.auth("Bearer   " + TOKEN.decode()), 200)  # 1*SP

    def test_anything_but_the_token_is_refused(self):
        t = TOKEN.decode()
        for value in ("Bearer " + t + " ", "Bearer " + t + "\t", "Bearer " + t + " x", "Bearer " + t + ",x",
                      "Bearer " + t + "=", "Bearer" + t, "Bearer\t" + t, "Basic " + t, "Bearer",
                      "Bearer ", "Token " + t, "Bearer " + t[:-1], "x Bearer " + t):
            with self.subTest(value=value):
                self.assertEqual(self.auth(value), 401)

    def test_two_authorization_headers_are_refused(self):
        t = TOKEN
        line = seclib.raw_request(self.a.port, b"GET /v1/snapshot HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " +
                                  t + b"\r\nAuthorization: Bearer " + t + b"\r\nConnection: close\r\n\r\n")
        self.assertEqual(seclib.status_of(line), 401)

    def test_nul_after_the_token_is_refused(self):
        if mhd_version() < (0, 9, 76):
            self.skipTest("libmicrohttpd %s cuts a header value at a NUL byte before the agent sees it "
                          "(0.9.76 and later answer 400 themselves)" % ".".join(map(str, mhd_version())))
        line = seclib.raw_request(self.a.port, b"GET /v1/snapshot HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " +
                                  TOKEN + b"\0junk\r\nConnection: close\r\n\r\n")
        self.assertIn(seclib.status_of(line), (400, 401), line)

    def test_metrics_need_the_token_healthz_does_not(self):
        self.assertEqual(self.a.get("/metrics")[0], 401)
        status, body = self.a.get("/metrics", TOKEN)
        self.assertEqual(status, 200)
        self.assertIn(b"lp_agent_sweeps_total", body)
        self.assertEqual(self.a.get("/healthz"), (200, b"ok\n"))

    def test_metrics_public_option(self):
        b = self.agent("--token-file", self.file("t2", TOKEN), "--metrics-public")
        self.assertEqual(b.get("/metrics")[0], 200)
        self.assertEqual(b.get("/v1/snapshot")[0], 401)


class TlsTest(Tmp):
    """HTTPS with a test PKI generated now."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl is not installed (Debian package openssl)")
        cls.pki_dir = tempfile.mkdtemp(prefix="lp-agentsec-pki-")
        cls.pki = seclib.TestPKI(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def tls_agent(self, *extra):
        p = self.pki
        return self.agent("--tls-cert", p.cert, "--tls-key", p.key, "--token-file", self.file("t", TOKEN),
                          *extra, ctx=p.client_context())

    def test_https_with_the_agents_ca(self):
        a = self.tls_agent()
        status, body = a.get("/v1/snapshot", TOKEN)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["schema"], "libplacement/snapshot/v1")
        # the host name the certificate names works too
        with urllib.request.urlopen(urllib.request.Request(
                "https://localhost:%d/healthz" % a.port), context=self.pki.client_context(), timeout=HANG) as r:
            self.assertEqual(r.read(), b"ok\n")

    def test_a_client_trusting_another_ca_refuses_the_agent(self):
        a = self.tls_agent()
        with self.assertRaises(ssl.SSLCertVerificationError):
            a.get("/healthz", ctx=self.pki.client_context(cafile=self.pki.other_ca))

    def test_plain_http_to_the_tls_port_gets_no_answer(self):
        a = self.tls_agent()
        with self.assertRaises((http.client.HTTPException, OSError)):
            http_get = http.client.HTTPConnection("127.0.0.1", a.port, timeout=HANG)
            http_get.request("GET", "/healthz")
            http_get.getresponse()
        self.assertEqual(a.get("/healthz")[0], 200)  # still serving

    def test_client_certificates(self):
        p = self.pki
        a = self.tls_agent("--tls-client-ca", p.client_ca)
        with_cert = p.client_context(cert=p.client_cert, key=p.client_key)
        rogue = p.client_context(cert=p.rogue_cert, key=p.rogue_key)
        self.assertEqual(a.get("/v1/snapshot", TOKEN, ctx=with_cert)[0], 200)
        self.assertEqual(a.get("/metrics", TOKEN, ctx=with_cert)[0], 200)
        self.assertEqual(a.get("/v1/snapshot", TOKEN)[0], 403)  # no certificate
        self.assertEqual(a.get("/v1/snapshot", TOKEN, ctx=rogue)[0], 403)  # another CA's
        self.assertEqual(a.get("/healthz")[0], 200)  # open, for monitoring
        self.assertEqual(a.get("/v1/snapshot", ctx=with_cert)[0], 401)  # the token still counts

    def test_metrics_public_needs_no_client_certificate(self):
        a = self.tls_agent("--tls-client-ca", self.pki.client_ca, "--metrics-public")
        self.assertEqual(a.get("/metrics")[0], 200)
        self.assertEqual(a.get("/v1/snapshot", TOKEN)[0], 403)

    def test_the_schedulers_fetcher_with_ca_file(self):
        """lpctl fetch fetches as Nova's and Zun's filters do (lp_fetch_options.ca_file)."""
        a = self.tls_agent()
        host = "localhost:%d" % a.port
        token = self.file("client-token", TOKEN + b"\n")

        def fetch(ca, *extra):
            return subprocess.run([LPCTL, "fetch", "--url-template", "https://{host}/v1/snapshot", "--ca-file", ca,
                                   *extra, "--json", host], capture_output=True, text=True, timeout=HANG)
        r = fetch(self.pki.ca, "--token-file", token)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([h["host"] for h in json.loads(r.stdout)["hosts"]], [host])
        r = fetch(self.pki.other_ca, "--token-file", token)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("TLS failed", r.stderr)
        r = fetch(self.pki.ca)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("HTTP status 401", r.stderr)

    def test_bad_files_are_refused_at_start(self):
        p = self.pki
        cases = (
            (("--tls-cert", p.cert, "--tls-key", p.stray_key), "is not the key of the certificate"),
            (("--tls-cert", p.cert, "--tls-key", p.client_key), "is not the key of the certificate"),
            (("--tls-cert", os.path.join(self.tmp, "none.pem"), "--tls-key", p.key), "No such file"),
            (("--tls-cert", p.key, "--tls-key", p.key), "no PEM certificate"),
            (("--tls-cert", p.cert, "--tls-key", self.file("k", b"not a key")), "not an unencrypted PEM private key"),
            (("--tls-cert", self.file("empty.pem", b"", 0o644), "--tls-key", p.key), "no PEM certificate"),
            (("--tls-cert", p.cert), "tls-cert and tls-key go together"),
            (("--tls-key", p.key), "tls-cert and tls-key go together"),
            (("--tls-client-ca", p.client_ca), "tls-client-ca needs tls-cert"),
            (("--tls-cert", p.cert, "--tls-key", p.key, "--tls-client-ca", self.file("ca", b"x", 0o644)),
             "tls-client-ca"),
        )
        for args, msg in cases:
            with self.subTest(args=args):
                self.assertIn(msg, self.refused(*args))
        with open(p.key, "rb") as f:
            key = self.file("groupkey", f.read(), 0o640)
        self.assertIn("accessible by group or others", self.refused("--tls-cert", p.cert, "--tls-key", key))


class ConnectionTest(Tmp):
    """Limits on what clients can hold, and shutdown with every connection taken."""

    def test_slowloris_from_one_address_leaves_others_served(self):
        if QUICK:
            self.skipTest("load test runs against the plain build only")
        a = self.agent("--token-file", self.file("t", TOKEN))  # default limits
        slow = seclib.Slowloris(a.port, 1100, addr="127.0.0.2").start()
        try:
            time.sleep(2)  # the attack's connections are in
            answers = []
            for _ in range(30):
                answers.append(a.get("/v1/snapshot", TOKEN, addr="127.0.0.1")[0])
                time.sleep(0.2)
            held = sum(1 for n in slow.socks.values() if n > 0)
        finally:
            slow.stop()
        self.assertEqual(answers, [200] * 30)
        self.assertLessEqual(held, 1100)
        self.assertGreater(slow.reopened, 0, "the per-address limit refused none of the 1,100")
        self.assertEqual(a.get("/healthz")[0], 200)

    def test_request_deadline_closes_a_trickling_connection(self):
        a = self.agent("--request-timeout", "2", "--per-ip-connections", "0")
        s = socket.create_connection(("127.0.0.1", a.port), timeout=HANG)
        head = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 10000
        closed_after = None
        start = time.monotonic()
        try:
            for i in range(len(head)):  # faster than the 10 s idle timeout, forever
                if time.monotonic() - start > HANG:
                    break
                try:
                    s.sendall(head[i:i + 1])
                except OSError:
                    closed_after = i
                    break
                time.sleep(0.2)
        finally:
            s.close()
        self.assertIsNotNone(closed_after, "a connection trickling its request head stayed open")
        self.assertIn("closed 1 connection that had not completed a request in 2 s", a.stderr_text())
        self.assertEqual(a.get("/healthz")[0], 200)

    def test_keep_alive_connections_get_a_new_deadline_per_request(self):
        a = self.agent("--request-timeout", "5")
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=HANG)
        try:
            for _ in range(4):  # one connection open for over 8 s, each request well within 5 s
                c.request("GET", "/healthz")
                self.assertEqual(c.getresponse().read(), b"ok\n")
                time.sleep(2)
            sock = c.sock
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().read(), b"ok\n")
            self.assertIs(c.sock, sock)
        finally:
            c.close()

    def test_sigterm_with_every_connection_taken(self):
        # No timeout at all: only a prompt wake-up of the server thread ends it.
        a = self.agent("--per-ip-connections", "0", "--connection-timeout", "0", "--request-timeout", "0",
                       "--max-connections", "1024")
        socks = []
        try:
            for _ in range(1100):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", a.port))
                socks.append(s)
            # all 1,024 accepted (the agent's own descriptors are fewer than 100)
            seclib.poll(lambda: len(os.listdir("/proc/%d/fd" % a.proc.pid)) >= 1024, HANG,
                        "the agent to accept 1,024 connections")
            a.proc.send_signal(signal.SIGTERM)
            self.assertEqual(a.proc.wait(timeout=HANG), 0, a.stderr_text())
        finally:
            for s in socks:
                s.close()
        self.assertIn("stopping", a.stderr_text())

    def test_connection_log_is_rate_limited(self):
        a = self.agent()
        for _ in range(2000):  # each closed in the middle of its request
            with socket.create_connection(("127.0.0.1", a.port), timeout=HANG) as s:
                s.sendall(b"GET /v1/snapshot HTTP/1.1\r\nHost: a\r\nX-")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")  # RST
        seclib.poll(lambda: "not logged" in a.stderr_text(), HANG, "the summary line")
        lines = [ln for ln in a.stderr_text().splitlines() if "http:" in ln]
        self.assertLess(len(lines), 40, "\n".join(lines[:50]))
        self.assertRegex(a.stderr_text(), r"http: \d+ more messages in \d+ s not logged; the last: http: ")


class ReloadTest(Tmp):
    """SIGHUP reads the configuration and the token again."""

    def setUp(self):
        super().setUp()
        self.token = self.file("token", b"first-token\n")
        self.conf = os.path.join(self.tmp, "agent.conf")
        self.write_conf("token-file = %s\ninterval = 3600\n" % self.token)
        self.a = self.agent("--config", self.conf)

    def write_conf(self, text):
        with open(self.conf + ".new", "w") as f:
            f.write(text)
        os.rename(self.conf + ".new", self.conf)

    def replace_token(self, data, mode=0o600):
        seclib.write_secret(self.token + ".new", data, mode)
        os.rename(self.token + ".new", self.token)

    def hup_and_wait(self, log_text):
        before = self.a.stderr_text().count(log_text)
        self.a.proc.send_signal(signal.SIGHUP)
        seclib.poll(lambda: self.a.stderr_text().count(log_text) > before, HANG, repr(log_text))

    def test_token_rotation_keeps_the_snapshot(self):
        status, before = self.a.get("/v1/snapshot", "first-token")
        self.assertEqual(status, 200)
        self.replace_token(b"second-token\n")
        self.hup_and_wait("SIGHUP: reloaded")
        self.assertEqual(self.a.get("/v1/snapshot", "first-token")[0], 401)
        status, after = self.a.get("/v1/snapshot", "second-token")
        self.assertEqual(status, 200)
        # interval 3600: no sweep since; the same snapshot is served, not a 503
        self.assertEqual(after, before)

    def test_refused_token_file_changes_nothing(self):
        self.replace_token(b"second-token\n", 0o644)
        self.hup_and_wait("nothing changed")
        self.assertIn("accessible by group or others", self.a.stderr_text())
        self.assertEqual(self.a.get("/v1/snapshot", "first-token")[0], 200)
        self.replace_token(b"bad\0token\n")
        self.hup_and_wait("nothing changed")
        self.assertEqual(self.a.get("/v1/snapshot", "first-token")[0], 200)

    def test_refused_configuration_changes_nothing(self):
        self.replace_token(b"second-token\n")
        self.write_conf("token-file = %s\ninterval = 0\n" % self.token)
        self.hup_and_wait("the configuration is refused")
        self.assertIn("interval", self.a.stderr_text())
        self.assertEqual(self.a.get("/v1/snapshot", "first-token")[0], 200)

    def test_interval_log_level_and_metrics_access_change(self):
        def sweeps():
            body = self.a.get("/metrics", "first-token")[1].decode()
            return int(next(ln.split()[1] for ln in body.splitlines()
                            if ln.startswith("lp_agent_sweeps_total ")))
        self.assertEqual(self.a.get("/metrics")[0], 401)
        n = sweeps()
        self.write_conf("token-file = %s\ninterval = 0.2\nlog-level = debug\nmetrics-public = true\n" % self.token)
        self.hup_and_wait("SIGHUP: reloaded")
        seclib.poll(lambda: sweeps() >= n + 3, HANG, "sweeps at the new interval")
        seclib.poll(lambda: "debug: sweep" in self.a.stderr_text(), HANG, "debug lines")
        self.assertEqual(self.a.get("/metrics")[0], 200)

    def test_what_needs_a_restart_is_reported_and_kept(self):
        self.write_conf("token-file = %s\ninterval = 3600\nhost-name = renamed\nper-ip-connections = 3\n"
                        % self.token)
        self.hup_and_wait("SIGHUP: reloaded")
        err = self.a.stderr_text()
        self.assertIn("SIGHUP: host-name changed: takes effect at the next restart", err)
        self.assertIn("SIGHUP: per-ip-connections changed: takes effect at the next restart", err)
        status, body = self.a.get("/v1/snapshot", "first-token")
        self.assertEqual(status, 200)
        self.assertNotEqual(json.loads(body)["host"], "renamed")

    def test_zz_stops_cleanly_after_reloads(self):
        for _ in range(3):
            self.hup_and_wait("SIGHUP: reloaded")
        self.stop_agent(self.a)


if __name__ == "__main__":
    unittest.main(verbosity=2)
