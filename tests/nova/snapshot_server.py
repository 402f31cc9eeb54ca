"""Serve libplacement agent snapshots from a directory, for the Nova tests.

Usage: python3 snapshot_server.py DIR

Binds 127.0.0.1 on a free port, prints the port on the first line of
stdout, then answers ``GET /<host>/v1/snapshot`` (a libplacement-agent's
snapshot URL, one path prefix per host):

* ``DIR/<host>.status`` exists: that HTTP status (e.g. 503, an agent whose
  sweeps stopped), empty body;
* ``DIR/<host>.json`` exists: 200 with its content, its ``time`` set to
  now when it is null (a live agent sweeps all the time);
* otherwise 404 (no agent on that host).

The test writes those files (atomically, by rename) to change what an
agent answers. A separate process, so that the scheduler's fetcher talks to
it over real HTTP whatever the test process's eventlet does.
"""

import http.server
import json
import os
import sys
import time


class SnapshotHandler(http.server.BaseHTTPRequestHandler):

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _send(self, code, body):
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split('/')
        if len(parts) != 4 or parts[2:] != ['v1', 'snapshot'] \
                or not parts[1] or parts[1].startswith('.'):
            return self._send(404, b'')
        base = os.path.join(self.server.directory, parts[1])
        try:
            with open(base + '.status') as f:
                return self._send(int(f.read().strip()), b'')
        except FileNotFoundError:
            pass
        try:
            with open(base + '.json') as f:
                doc = json.load(f)
        except FileNotFoundError:
            return self._send(404, b'')
        if doc.get('time', 0) is None:
            doc['time'] = int(time.time())
        return self._send(200, json.dumps(doc).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    server = Server(('127.0.0.1', 0), SnapshotHandler)
    server.directory = sys.argv[1]
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
