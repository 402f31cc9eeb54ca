"""Stand-ins for Glance and Neutron: what Nova asks of them when servers boot
with ``networks: none`` from an image that is never downloaded (fake driver).

Run as ``python3 -m lpe2e.standins IMAGES_JSON PORT_FILE``: serves on
127.0.0.1 (a port the kernel chooses, written to PORT_FILE) under

* ``/image``: Glance v2 — ``GET /v2/images/<id>``, ``GET /v2/images``,
  ``GET /v2/schemas/image`` for the images listed in IMAGES_JSON
  (``[{"id": ..., "name": ..., <image properties>}, ...]``);
* ``/network``: Neutron v2.0 — every list is empty (``GET
  /v2.0/ports?device_id=...`` gives ``{"ports": []}``), deletes succeed.

Nova reaches them through ``[glance] endpoint_override`` and ``[neutron]
endpoint_override``. Each request is logged (method, path, status) so that a
call Nova makes and the stand-in does not answer shows up in its log.
"""

import json
import os
import sys
from http import server

IMAGE_SCHEMA = {
    'name': 'image',
    'properties': {
        'id': {'type': 'string'}, 'name': {'type': ['null', 'string']},
        'status': {'type': 'string'}, 'visibility': {'type': 'string'},
        'disk_format': {'type': ['null', 'string']},
        'container_format': {'type': ['null', 'string']},
        'min_disk': {'type': 'integer'}, 'min_ram': {'type': 'integer'},
        'size': {'type': ['null', 'integer']},
        'checksum': {'type': ['null', 'string']},
        'created_at': {'type': 'string'}, 'updated_at': {'type': 'string'},
        'tags': {'type': 'array'}, 'self': {'type': 'string'},
        'file': {'type': 'string'}, 'schema': {'type': 'string'},
    },
    'additionalProperties': {'type': 'string'},
}


def image_document(image):
    """The Glance v2 representation of one image of IMAGES_JSON."""
    doc = {'status': 'active', 'visibility': 'public', 'disk_format': 'raw',
           'container_format': 'bare', 'min_disk': 0, 'min_ram': 0,
           'size': 512, 'checksum': None, 'protected': False,
           'created_at': '2026-01-01T00:00:00Z',
           'updated_at': '2026-01-01T00:00:00Z', 'tags': [],
           'file': '/v2/images/%s/file' % image['id'],
           'self': '/v2/images/%s' % image['id'],
           'schema': '/v2/schemas/image'}
    doc.update(image)
    return doc


class Handler(server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    images = {}

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.log_date_time_string(), fmt % args))

    def _send(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b''
        self.send_response(status)
        if body is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _discard_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self):
        path = self.path.split('?', 1)[0].rstrip('/')
        if path.startswith('/image'):
            return self._glance(path[len('/image'):])
        if path.startswith('/network'):
            return self._neutron(path[len('/network'):])
        self._send(404, {'error': 'no such stand-in: %s' % path})

    def _glance(self, path):
        if path == '/v2/schemas/image':
            return self._send(200, IMAGE_SCHEMA)
        if path == '/v2/images':
            return self._send(200, {'images': [image_document(i) for i in
                                               self.images.values()]})
        if path.startswith('/v2/images/'):
            image = self.images.get(path[len('/v2/images/'):])
            if image is not None:
                return self._send(200, image_document(image))
        self._send(404, {'message': 'image not found: %s' % path})

    def _neutron(self, path):
        if path in ('', '/'):
            return self._send(200, {'versions': [{'id': 'v2.0',
                                                  'status': 'CURRENT'}]})
        parts = path.strip('/').split('/')
        if parts[0] == 'v2.0' and len(parts) == 2:
            resource = parts[1].replace('.json', '').replace('-', '_')
            return self._send(200, {resource: []})
        self._send(404, {'NeutronError': {'message': 'not found: %s' % path}})

    def do_DELETE(self):
        self._discard_body()
        self._send(204)

    def do_POST(self):
        self._discard_body()
        self._send(404, {'error': 'the stand-ins create nothing'})

    do_PUT = do_POST


def main(argv):
    images_file, port_file = argv
    with open(images_file) as f:
        Handler.images = {i['id']: i for i in json.load(f)}
    httpd = server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    httpd.daemon_threads = True
    with open(port_file + '.tmp', 'w') as f:
        f.write(str(httpd.server_address[1]))
    os.rename(port_file + '.tmp', port_file)
    httpd.serve_forever()


if __name__ == '__main__':
    main(sys.argv[1:])
