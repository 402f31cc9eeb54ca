"""The two real workloads of the evaluation, as servers in cgroups.

- PiServer: eval/pi.c, a parallel Monte-Carlo pi with a fixed number of
  iterations per server split over its threads (CPU-bound, like the research's
  Spark pi workers).
- WebServer: nginx (Debian's nginx-light) serving one static page, with
  ``worker_processes`` = its threads of parallelism; HttperfClient drives it
  at a fixed request rate with httperf (the research's load generator).

The page is 16 KB of HTML text served gzip-compressed on the fly: on a machine
with one CPU for the server and one for httperf, an uncompressed page costs the
server less CPU per request than it costs httperf, so the load generator
would saturate first and no server-side knee could be seen.  Compression
makes each reply cost the server a fixed, measurable amount of CPU (as a
Tomcat servlet does), while httperf's cost per reply stays small.
"""

import math
import os
import random
import re
import socket
import subprocess
import time
import urllib.request

NGINX = '/usr/sbin/nginx'
HTTPERF = '/usr/bin/httperf'
PAGE_BYTES = 16384


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_page(path, size=PAGE_BYTES, seed=1):
    """A static HTML page of `size` bytes of word-like text (compressible
    about 2.5:1, like prose)."""
    rnd = random.Random(seed)
    words = [''.join(rnd.choice('etaoinshrdlucmfwypvbgkqjxz')
                     for _ in range(rnd.randint(2, 9))) for _ in range(800)]
    head = '<!DOCTYPE html><html><head><title>static</title></head><body><p>'
    tail = '</p></body></html>\n'
    body = []
    n = len(head) + len(tail)
    while n < size:
        w = rnd.choice(words) + ' '
        body.append(w)
        n += len(w)
    text = (head + ''.join(body))[:size - len(tail)] + tail
    with open(path, 'w') as f:
        f.write(text)


class PiServer:
    """One pi process (threads, iterations) in cgroup; start() releases it."""

    def __init__(self, cgroup, binary, threads, iterations):
        self.cgroup = cgroup
        self.proc = cgroup.spawn([binary, str(threads), str(iterations)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        line = self.proc.stdout.readline()
        if line.strip() != 'ready':
            raise RuntimeError('pi did not start: %r' % line)

    def start(self):
        self.proc.stdin.write('go\n')
        self.proc.stdin.flush()

    def result(self, timeout):
        out, _ = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise RuntimeError('pi exited %d' % self.proc.returncode)
        fields = dict(kv.split('=') for kv in out.split())
        return {k: float(v) for k, v in fields.items()}


def pi_rate_one_thread(cgroup, binary, iterations=20000000):
    """Iterations per second of one pi thread alone (for sizing the work)."""
    s = PiServer(cgroup, binary, 1, iterations)
    s.start()
    return s.result(timeout=120)['rate']


class WebServer:
    """nginx with `workers` worker processes on a free port, in cgroup."""

    def __init__(self, cgroup, workdir, workers, page_dir):
        self.cgroup = cgroup
        self.port = free_port()
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        conf = os.path.join(workdir, 'nginx.conf')
        temp = ''.join('  %s_temp_path %s/%s;\n' % (k, workdir, k)
                       for k in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
        with open(conf, 'w') as f:
            f.write('daemon off;\nmaster_process on;\nworker_processes %d;\n'
                    'pid %s/nginx.pid;\nerror_log %s/error.log;\n'
                    'events { worker_connections 1024; }\n'
                    'http {\n  access_log off;\n%s'
                    '  gzip on; gzip_comp_level 6; gzip_min_length 256;\n'
                    '  keepalive_requests 100000;\n'
                    '  server { listen 127.0.0.1:%d; root %s; }\n}\n'
                    % (workers, workdir, workdir, temp, self.port, page_dir))
        self.proc = cgroup.spawn([NGINX, '-c', conf, '-p', workdir],
                                 stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, timeout=20):
        end = time.monotonic() + timeout
        url = 'http://127.0.0.1:%d/index.html' % self.port
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('nginx exited %d (see %s/error.log)'
                                   % (self.proc.returncode, self.dir))
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('nginx on port %d not ready' % self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class HttperfClient:
    """httperf at `rate` requests/s for `seconds` against one server, with
    persistent connections of `calls` requests each (open loop: new
    connections start at a fixed rate whether or not replies come back)."""

    def __init__(self, cgroup, port, rate, seconds, calls=10, timeout=2.0):
        conns = max(1, int(math.ceil(rate * seconds / calls)))
        argv = [HTTPERF, '--server', '127.0.0.1', '--port', str(port),
                '--uri', '/index.html', '--add-header', 'Accept-Encoding: gzip\\n',
                '--rate', '%.3f' % (rate / calls), '--num-conns', str(conns),
                '--num-calls', str(calls), '--timeout', str(timeout)]
        self.requests = conns * calls
        self.proc = cgroup.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)

    def result(self, timeout):
        out, _ = self.proc.communicate(timeout=timeout)
        m = re.search(r'Total: connections (\d+) requests (\d+) replies (\d+) '
                      r'test-duration ([\d.]+) s', out)
        if self.proc.returncode != 0 or not m:
            raise RuntimeError('httperf failed (%d): %s' % (self.proc.returncode, out[-2000:]))
        errors = re.search(r'Errors: total (\d+)', out)
        resp = re.search(r'Reply time \[ms\]: response ([\d.]+)', out)
        return {'requests': int(m.group(2)), 'replies': int(m.group(3)),
                'duration': float(m.group(4)),
                'errors': int(errors.group(1)) if errors else 0,
                'response_ms': float(resp.group(1)) if resp else float('nan')}
