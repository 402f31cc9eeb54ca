"""OpenStack Placement (python3-placement) as a real HTTP service for tests.

``python3 placement_service.py DIR`` runs Placement's own WSGI application
(``placement.wsgi.init_application``, as under uwsgi or Apache) on a free
loopback port with a SQLite database in DIR and ``auth_strategy = noauth2``
(every token is accepted; the token ``admin`` is an admin), and prints
``port N`` once it serves.  It answers one request at a time, like a
single-worker Placement: requests from concurrent schedulers are serialised
in Placement, as its database transactions serialise them in production.

``PlacementService`` starts and stops that process for a test.
"""

import os
import subprocess
import sys
import textwrap


class PlacementService(object):
    """A Placement process on 127.0.0.1; ``endpoint`` is its base URL."""

    def __init__(self, workdir):
        self._proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), str(workdir)],
            stdout=subprocess.PIPE, stderr=open(
                os.path.join(str(workdir), 'placement.log'), 'w'),
            text=True)
        line = self._proc.stdout.readline()
        if not line.startswith('port '):
            self.stop()
            raise RuntimeError('Placement did not start; see %s'
                               % os.path.join(str(workdir), 'placement.log'))
        self.endpoint = 'http://127.0.0.1:%d' % int(line.split()[1])

    def stop(self):
        if self._proc.poll() is None:
            self._proc.terminate()
        self._proc.wait()
        self._proc.stdout.close()


def _serve(workdir):
    from wsgiref import simple_server

    # Only the port goes to the parent's pipe; everything else (Placement
    # logs each request) to stderr, the log file: a pipe nobody reads
    # would fill up and stop the service.
    port_out = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)

    with open(os.path.join(workdir, 'placement.conf'), 'w') as f:
        f.write(textwrap.dedent("""\
            [DEFAULT]
            debug = False
            [api]
            auth_strategy = noauth2
            [placement_database]
            connection = sqlite:///%s
            """ % os.path.join(workdir, 'placement.sqlite')))
    os.environ['OS_PLACEMENT_CONFIG_DIR'] = workdir

    from oslo_config import cfg
    from placement import conf
    from placement import db_api
    from placement.db.sqlalchemy import migration
    from placement import deploy
    from placement import wsgi

    # placement.wsgi.init_application, with the schema created between
    # configuring the database and loading the app (which syncs traits).
    config = cfg.ConfigOpts()
    conf.register_opts(config)
    wsgi._parse_args(config, [], default_config_files=wsgi._get_config_files())
    wsgi.setup_logging(config)
    db_api.configure(config)
    migration.create_schema()
    app = deploy.loadapp(config)

    class QuietHandler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = simple_server.make_server('127.0.0.1', 0, app,
                                       handler_class=QuietHandler)
    port_out.write('port %d\n' % server.server_address[1])
    port_out.close()
    server.serve_forever()


if __name__ == '__main__':
    _serve(sys.argv[1])


def clear(endpoint):
    """Delete every allocation and resource provider in the service."""
    import requests

    headers = {'X-Auth-Token': 'admin', 'Accept': 'application/json',
               'OpenStack-API-Version': 'placement 1.28'}
    rps = requests.get(endpoint + '/resource_providers',
                       headers=headers).json()['resource_providers']
    for rp in rps:
        allocs = requests.get('%s/resource_providers/%s/allocations'
                              % (endpoint, rp['uuid']),
                              headers=headers).json()['allocations']
        for consumer in allocs:
            requests.delete('%s/allocations/%s' % (endpoint, consumer),
                            headers=headers)
    for rp in rps:
        requests.delete('%s/resource_providers/%s' % (endpoint, rp['uuid']),
                        headers=headers)
