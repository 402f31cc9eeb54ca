"""A real HTTP endpoint for an in-process Nova, laid out like devstack's, so
that a separate process (Watcher) reaches it with its ordinary clients.

Nova's functional fixtures serve the compute and placement APIs through
wsgi-intercept, inside the test process only. ``Endpoints`` serves the same
WSGI applications on 127.0.0.1 (a port chosen by the kernel, an eventlet
green thread of the test process):

==================== =========================================================
``/identity/v3``     stand-in for Keystone: issues a token whose catalog
                     lists the endpoints below (keystoneauth ``v3password``)
``/compute/v2.1``    Nova's API application (the OSAPIFixture's)
``/placement``       Placement's application (on the PlacementFixture's
                     configuration and database)
``/image/v2``        stand-in for Glance: the images of Nova's GlanceFixture
                     (``GET /v2/images/<id>``, ``GET /v2/schemas/image``)
``/agents/<host>``   stand-in for the compute hosts' libplacement agents:
                     the snapshot set in ``snapshots[host]`` taken now, else
                     404
==================== =========================================================

Every request is made as the admin of the project given: the functional
fixtures stub Keystone's middleware out and read the identity from headers,
which this front sets. Not for production: there is no authentication.
"""

import datetime
import json
import time

import eventlet
from eventlet import wsgi

TOKEN = 'admin'
ROLES = 'admin,member,reader'


class _Quiet(object):
    """eventlet.wsgi's access log, discarded."""

    def write(self, *args):
        pass


def _json(start_response, status, body, headers=()):
    data = json.dumps(body).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))] +
                   list(headers))
    return [data]


def _iso(value):
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%dT%H:%M:%SZ')
    return value


class Endpoints(object):
    """The endpoints of one in-process cloud; start() binds them."""

    def __init__(self, nova_app, placement_app, glance, project):
        self._project = project
        self._nova = nova_app
        self._placement = placement_app
        self._glance = glance
        self._server = None
        self._socket = None
        self.url = None
        self.snapshots = {}

    # -- lifecycle --------------------------------------------------------
    def start(self):
        self._socket = eventlet.listen(('127.0.0.1', 0))
        self.url = 'http://127.0.0.1:%d' % self._socket.getsockname()[1]
        self._server = eventlet.spawn(wsgi.server, self._socket, self,
                                      log=_Quiet(), debug=False)
        return self

    def stop(self):
        if self._server is not None:
            self._server.kill()
            self._socket.close()
            self._server = None

    # -- routing ------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        for prefix, handler in (('/identity', self._identity),
                                ('/compute', self._compute),
                                ('/placement', self._placement_api),
                                ('/image', self._image),
                                ('/agents', self._agent)):
            if path == prefix or path.startswith(prefix + '/'):
                environ['SCRIPT_NAME'] = prefix
                environ['PATH_INFO'] = path[len(prefix):]
                return handler(environ, start_response)
        return _json(start_response, '404 Not Found', {'error': path})

    def _compute(self, environ, start_response):
        environ['HTTP_X_AUTH_USER'] = 'admin'
        environ['HTTP_X_AUTH_PROJECT_ID'] = self._project
        environ['HTTP_X_ROLES'] = ROLES
        return self._nova(environ, start_response)

    def _placement_api(self, environ, start_response):
        environ['HTTP_X_AUTH_TOKEN'] = TOKEN
        return self._placement(environ, start_response)

    def _agent(self, environ, start_response):
        snapshot = self.snapshots.get(environ['PATH_INFO'].strip('/'))
        if snapshot is None:
            return _json(start_response, '404 Not Found', {'error': 'none'})
        # Measured now, as a live agent's snapshot is.
        return _json(start_response, '200 OK',
                     dict(snapshot, time=time.time()))

    # -- Keystone stand-in ----------------------------------------------------
    def _catalog(self):
        def service(kind, name, path):
            return {'type': kind, 'name': name, 'id': name,
                    'endpoints': [{'id': name + '-public',
                                   'interface': 'public',
                                   'region': 'RegionOne',
                                   'region_id': 'RegionOne',
                                   'url': self.url + path}]}
        return [service('identity', 'keystone', '/identity/v3'),
                service('compute', 'nova', '/compute/v2.1'),
                service('placement', 'placement', '/placement'),
                service('image', 'glance', '/image'),
                # Listed so that Watcher's clients can be made; never called.
                service('network', 'neutron', '/network'),
                service('volumev3', 'cinder', '/volume/v3')]

    def _identity(self, environ, start_response):
        if environ['REQUEST_METHOD'] == 'POST' and \
                environ['PATH_INFO'] == '/v3/auth/tokens':
            domain = {'id': 'default', 'name': 'Default'}
            token = {
                'methods': ['password'],
                'issued_at': '2026-01-01T00:00:00.000000Z',
                'expires_at': '2099-01-01T00:00:00.000000Z',
                'user': {'id': 'admin', 'name': 'admin', 'domain': domain},
                'project': {'id': self._project, 'name': 'admin',
                            'domain': domain},
                'roles': [{'id': r, 'name': r} for r in ROLES.split(',')],
                'catalog': self._catalog(),
            }
            return _json(start_response, '201 Created', {'token': token},
                         [('X-Subject-Token', TOKEN)])
        return _json(start_response, '404 Not Found',
                     {'error': environ['PATH_INFO']})

    # -- Glance stand-in -----------------------------------------------------
    def _image(self, environ, start_response):
        path = environ['PATH_INFO']
        if path == '/v2/schemas/image':
            return _json(start_response, '200 OK', {
                'name': 'image', 'properties': {
                    'id': {'type': 'string'}, 'name': {'type': 'string'},
                    'status': {'type': 'string'}},
                'additionalProperties': True})
        if path.startswith('/v2/images/'):
            image_id = path[len('/v2/images/'):]
            try:
                image = self._glance.show(None, image_id)
            except Exception:
                return _json(start_response, '404 Not Found',
                             {'message': 'image %s not found' % image_id})
            body = {'id': image['id'], 'name': image.get('name'),
                    'status': image.get('status', 'active'),
                    'visibility': 'public',
                    'disk_format': image.get('disk_format'),
                    'container_format': image.get('container_format'),
                    'min_disk': image.get('min_disk', 0),
                    'min_ram': image.get('min_ram', 0),
                    'size': image.get('size'),
                    'created_at': _iso(image.get('created_at')),
                    'updated_at': _iso(image.get('updated_at')),
                    'tags': [], 'self': '/v2/images/' + image['id'],
                    'schema': '/v2/schemas/image'}
            for key, value in (image.get('properties') or {}).items():
                body.setdefault(key, value)
            return _json(start_response, '200 OK', body)
        return _json(start_response, '404 Not Found', {'error': path})
