"""The OpenStack of the run: configuration, databases and Nova's services as
separate processes, on MariaDB and RabbitMQ (backing.py), with the Glance and
Neutron stand-ins (standins.py).

Identity: there is no Keystone. Nova and Placement run with ``[api]
auth_strategy = noauth2``; clients send ``X-Auth-Token: admin:admin``
(user admin of project admin); Nova reaches Placement with keystoneauth's
``admin_token`` plugin; a paste filter (token_context.py) hands the request's
token to Nova's Glance and Neutron clients.

libplacement is enabled in nova.conf exactly as README.md and docs/nova.md
say: Nova's filters then ParallelismFilter and RuntimeFilter, Nova's
weighers and ParallelismWeigher, ``[libplacement] weight_multiplier = 10``
and ``agent_url`` pointing at the hosts' agents.
"""

import json
import os
import re
import secrets
import shlex
import subprocess
import urllib.request

from lpe2e import backing
from lpe2e import hosts
from lpe2e import install
from lpe2e import procs

# Flavor extra specs are validated from 2.86; os-hypervisors shows vCPUs
# until 2.88.
API_VERSION = '2.87'
TOKEN = 'admin:admin'
IMAGE_ID = '6d5e4f6b-2f44-4c37-9c55-3c2b6f3c0e21'
NOVA_DEFAULT_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                        'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                        'ServerGroupAffinityFilter')
PLUGIN_FILTERS = NOVA_DEFAULT_FILTERS + ',ParallelismFilter,RuntimeFilter'
NOVA_WEIGHERS = 'nova.scheduler.weights.all_weighers'
PLUGIN_WEIGHERS = NOVA_WEIGHERS + ',nova_filter.weighers.ParallelismWeigher'
# The agents of the run sweep every AGENT_INTERVAL s; the scheduler keeps a
# snapshot fresh for AGENT_TTL s and refreshes it at half that.
AGENT_INTERVAL = 2
AGENT_TTL = 10
PASTE_SOURCES = ('/etc/nova/api-paste.ini',
                 '/usr/share/nova-common/api-paste.ini')


class Cloud(object):

    def __init__(self, workdir, supervisor, installation, run_id, slices,
                 timeout):
        self.workdir = workdir
        self._sup = supervisor
        self.inst = installation
        self.slices = slices
        # The port every host's agent listens on (its own address each),
        # chosen when the agents first start, and the bearer token they
        # require (docs/agent.md, "Exposing the agent").
        self.agent_port = None
        self.agent_token_file = os.path.join(workdir, 'agent-token')
        self.timeout = timeout
        self.etc = os.path.join(workdir, 'etc')
        self.db = backing.MariaDB(supervisor, workdir)
        self.mq = backing.RabbitMQ(supervisor, workdir, run_id)
        self.standins_port = None
        self.placement_port = None
        self.api_port = None
        self.scheduler = None
        self.scheduler_mode = None
        self._scheduler_starts = 0
        self.env = installation.env()

    # -- paths and URLs ----------------------------------------------------
    def _etc(self, *parts):
        return os.path.join(self.etc, *parts)

    @property
    def api_url(self):
        return 'http://127.0.0.1:%d' % self.api_port

    @property
    def placement_url(self):
        return 'http://127.0.0.1:%d' % self.placement_port

    @property
    def scheduler_log(self):
        return self.scheduler.log_path

    # -- start -------------------------------------------------------------
    def start_backing(self):
        self.db.start(self.timeout)
        self.mq.start(self.timeout)

    def start_standins(self):
        os.makedirs(self.etc, exist_ok=True)
        images = self._etc('images.json')
        with open(images, 'w') as f:
            json.dump([{'id': IMAGE_ID, 'name': 'testbed-guest'}], f)
        port_file = os.path.join(self.workdir, 'standins.port')
        self._sup.start('standins', [install.PYTHON, '-m', 'lpe2e.standins',
                                     images, port_file], env=self.env)
        self.standins_port = int(procs.wait_for(
            'Glance/Neutron stand-ins listening',
            lambda: _read(port_file),
            self.timeout, alive=self._sup.check))

    def start_placement(self):
        """Placement's configuration and database, then placement-api."""
        os.makedirs(self._etc('placement'), exist_ok=True)
        conf = self._etc('placement', 'placement.conf')
        with open(conf, 'w') as f:
            f.write(_ini({
                'api': [('auth_strategy', 'noauth2')],
                'placement_database': [('connection',
                                        self.db.url('placement'))]}))
        self._sup.run('placement-db-sync', [
            'placement-manage', '--config-file', conf, 'db', 'sync'],
            env=self.env, timeout=self.timeout)
        proc = self._sup.start('placement-api', [
            '/usr/bin/placement-api', '--host', '127.0.0.1', '--port', '0'],
            env=dict(self.env, OS_PLACEMENT_CONFIG_DIR=self._etc('placement')))
        self.placement_port = self._wsgi_port(proc)
        procs.wait_for('placement-api answering', lambda: self._http_ok(
            self.placement_url + '/'), self.timeout, alive=self._sup.check)

    def _wsgi_port(self, proc):
        """The port a pbr WSGI script bound (--port 0: the kernel's
        choice, so that no other process can take it in between)."""
        found = procs.wait_for(
            '%s listening' % proc.name, lambda: re.search(
                r'Available at http://[^/]*:(\d+)/', _read(proc.log_path)),
            self.timeout, alive=self._sup.check)
        return int(found.group(1))

    def setup_nova(self):
        """Nova's configuration and databases, then nova-api."""
        self._write_nova_configs()
        self._sync_nova_databases()
        proc = self._sup.start('nova-api', [
            '/usr/bin/nova-api-wsgi', '--host', '127.0.0.1', '--port', '0'],
            env=dict(self.env, OS_NOVA_CONFIG_DIR=self._etc('nova')))
        self.api_port = self._wsgi_port(proc)
        procs.wait_for('nova-api answering', lambda: self._http_ok(
            self.api_url + '/v2.1/flavors'), self.timeout,
            alive=self._sup.check)

    def _write_nova_configs(self):
        os.makedirs(self._etc('nova'), exist_ok=True)
        state = os.path.join(self.workdir, 'state')
        common = _ini({
            'DEFAULT': [('transport_url', self.mq.transport_url),
                        ('my_ip', '127.0.0.1'),
                        ('state_path', state),
                        # No network to heal: Neutron is a stand-in.
                        ('heal_instance_info_cache_interval', '-1')],
            'placement': [('auth_type', 'admin_token'),
                          ('endpoint', self.placement_url),
                          ('token', 'admin')],
            'glance': [('endpoint_override', 'http://127.0.0.1:%d/image'
                        % self.standins_port)],
            'neutron': [('endpoint_override', 'http://127.0.0.1:%d/network'
                         % self.standins_port),
                        ('auth_type', 'admin_token'),
                        ('endpoint', 'http://127.0.0.1:%d/network'
                         % self.standins_port),
                        ('token', 'admin')],
            'oslo_concurrency': [('lock_path', os.path.join(state, 'lock'))],
        })
        with open(self._etc('nova', 'nova.conf'), 'w') as f:
            f.write(common + _ini({
                'api': [('auth_strategy', 'noauth2')],
                'wsgi': [('api_paste_config',
                          self._etc('nova', 'api-paste.ini'))],
                'api_database': [('connection', self.db.url('nova_api'))],
                'database': [('connection', self.db.url('nova_cell1'))],
                # 17 servers of 2 vCPUs exceed the default project quota.
                'quota': [('instances', '-1'), ('cores', '-1'), ('ram', '-1')],
                'scheduler': [('workers', '1')],
                'conductor': [('workers', '1')],
            }) + self.plugin_config())
        # The scheduler: DEBUG (per-request timing, the plugin's per-host
        # lines) without the libraries' chatter.
        with open(self._etc('nova', 'scheduler.conf'), 'w') as f:
            f.write(_ini({'DEFAULT': [
                ('debug', 'True'),
                ('default_log_levels', ','.join([
                    'amqp=WARN', 'amqplib=WARN', 'oslo.messaging=INFO',
                    'oslo_messaging=INFO', 'sqlalchemy=WARN',
                    'keystoneauth=WARN', 'urllib3=WARN', 'stevedore=WARN',
                    'oslo_policy=INFO', 'oslo_concurrency=INFO',
                    'nova.scheduler.client.report=INFO',
                    'nova.scheduler.host_manager=INFO',
                    'oslo_service=INFO', 'oslo.privsep=INFO'])),
            ]}))
        # Stock Nova: its default filters and weighers only.
        with open(self._etc('nova', 'scheduler-stock.conf'), 'w') as f:
            f.write(_ini({'filter_scheduler': [
                ('enabled_filters', NOVA_DEFAULT_FILTERS),
                ('weight_classes', NOVA_WEIGHERS)]}))
        with open(self._etc('nova', 'compute.conf'), 'w') as f:
            f.write(common + _ini({'DEFAULT': [
                ('compute_driver', 'fake.MediumFakeDriver')]}))
        for s in self.slices:
            with open(self._etc('nova', '%s.conf' % s.name), 'w') as f:
                f.write(_ini({
                    'DEFAULT': [('host', s.name),
                                ('state_path', os.path.join(state, s.name)),
                                ('instances_path', os.path.join(
                                    state, s.name, 'instances'))],
                    'oslo_concurrency': [('lock_path', os.path.join(
                        state, s.name, 'lock'))]}))
        self._write_paste()
        # The scheduler resolves the compute hosts' names to the addresses
        # their agents listen on (its own /etc/hosts, mounted over the
        # system's in its mount namespace only).
        with open('/etc/hosts') as f:
            hosts = f.read()
        with open(self._etc('hosts'), 'w') as f:
            f.write(hosts.rstrip('\n') + '\n' + ''.join(
                '%s %s\n' % (s.address, s.name) for s in self.slices))

    def plugin_config(self):
        """nova.conf's libplacement part, as README.md and docs/nova.md give
        it (plus the agents' URL and a freshness suited to a short run)."""
        return ('[filter_scheduler]\n'
                'available_filters = nova.scheduler.filters.all_filters\n'
                'available_filters = nova_filter.all_filters\n'
                'enabled_filters = %s\n'
                'weight_classes = %s\n\n'
                '[libplacement]\n'
                'weight_multiplier = 10.0\n'
                'agent_url = http://{host}:%d/v1/snapshot\n'
                'agent_token = %s\n'
                'agent_ttl = %d\n\n'
                % (PLUGIN_FILTERS, PLUGIN_WEIGHERS, self.agent_port,
                   self.agent_token(), AGENT_TTL))

    def agent_token(self):
        """The agents' token, made once (a file of mode 600, as the agent
        requires)."""
        if not os.path.exists(self.agent_token_file):
            fd = os.open(self.agent_token_file,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(secrets.token_hex(24) + '\n')
        with open(self.agent_token_file) as f:
            return f.read().strip()

    def _write_paste(self):
        source = next(p for p in PASTE_SOURCES if os.path.exists(p))
        with open(source) as f:
            text = f.read()
        text, n = re.subn(r'\bnoauth2 (osapi_compute_app_v21|'
                          r'legacy_v2_compatible)\b',
                          r'noauth2 tokencontext \1', text)
        if n != 2:
            raise RuntimeError('%s: expected the two noauth2 pipelines, found '
                               '%d; cannot add the token filter' % (source, n))
        text += ('\n[filter:tokencontext]\n'
                 'paste.filter_factory = '
                 'lpe2e.token_context:TokenOnContext.factory\n')
        with open(self._etc('nova', 'api-paste.ini'), 'w') as f:
            f.write(text)

    def _nova_manage(self, name, *args):
        self._sup.run(name, ['nova-manage', '--config-file',
                             self._etc('nova', 'nova.conf')] + list(args),
                      env=self.env, timeout=self.timeout)

    def _sync_nova_databases(self):
        self._nova_manage('nova-api-db-sync', 'api_db', 'sync')
        self._nova_manage('nova-map-cell0', 'cell_v2', 'map_cell0',
                          '--database_connection', self.db.url('nova_cell0'))
        self._nova_manage('nova-create-cell1', 'cell_v2', 'create_cell',
                          '--name', 'cell1', '--database_connection',
                          self.db.url('nova_cell1'), '--transport-url',
                          self.mq.transport_url)
        self._nova_manage('nova-db-sync', 'db', 'sync')

    def _http_ok(self, url):
        req = urllib.request.Request(url, headers={
            'X-Auth-Token': TOKEN if '/v2.1' in url else 'admin'})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status == 200
        except (OSError, ValueError):
            return False

    def _nova_service(self, service, *conf_files):
        argv = [install.PYTHON, '-m', 'lpe2e.service', service]
        for c in conf_files:
            argv += ['--config-file', self._etc('nova', c)]
        return argv

    def start_services(self):
        self._sup.start('nova-conductor', self._nova_service(
            'conductor', 'nova.conf'), env=self.env)
        self.start_scheduler('plugin')
        for s in self.slices:
            self._sup.start('nova-compute-%s' % s.name, self._nova_service(
                'compute', 'compute.conf', '%s.conf' % s.name),
                env=self.env)

    # -- the scheduler, in its own mount namespace -------------------------
    def start_scheduler(self, mode, hidden_files=()):
        """Start nova-scheduler. mode: 'plugin' (nova.conf as documented),
        'stock' (Nova's default filters and weighers), 'unloadable'
        (plugin configured, hidden_files — the libplacement module and
        library — replaced by an empty file for this process only)."""
        if self.scheduler is not None:
            self._sup.stop(self.scheduler, grace=20)
        conf = ['nova.conf', 'scheduler.conf']
        if mode == 'stock':
            conf.append('scheduler-stock.conf')
        empty = os.path.join(self.workdir, 'empty-file')
        open(empty, 'w').close()
        mounts = ['mount --bind "$1" /etc/hosts']
        for path in hidden_files:
            mounts.append('mount --bind "$2" %s' % shlex.quote(path))
        self._scheduler_starts += 1
        name = 'nova-scheduler-%d-%s' % (self._scheduler_starts, mode)
        self.scheduler = self._sup.start(name, [
            'unshare', '--mount', '--', 'sh', '-c',
            ' && '.join(mounts) + ' && shift 2 && exec "$@"', 'sh',
            self._etc('hosts'), empty] + self._nova_service(
                'scheduler', *conf), env=self.env)
        self.scheduler_mode = mode
        procs.wait_for('nova-scheduler (%s) started' % mode,
                       lambda: 'Starting scheduler node' in _read(
                           self.scheduler.log_path),
                       self.timeout, alive=self._sup.check)

    def discover_hosts(self, client):
        """Map the computes into cell1 (nova-manage, as an operator does)
        until all are mapped, up, and report the testbed's threads."""
        names = sorted(s.name for s in self.slices)

        def mapped():
            self._nova_manage('nova-discover-hosts', 'cell_v2',
                              'discover_hosts')
            out = subprocess.run(
                ['nova-manage', '--config-file',
                 self._etc('nova', 'nova.conf'), 'cell_v2', 'list_hosts'],
                env=self.env, capture_output=True, text=True).stdout
            return all(re.search(r'\|\s*%s\s*\|' % n, out) for n in names)
        procs.wait_for('computes %s mapped to cell1' % ', '.join(names),
                       mapped, self.timeout, interval=5, alive=self._sup.check)

        def up():
            services = client.services.list(binary='nova-compute')
            hyps = client.hypervisors.list()
            return (sorted(s.host for s in services
                           if s.state == 'up') == names
                    and sorted(h.hypervisor_hostname for h in hyps
                               if h.vcpus == hosts.THREADS) == names)
        procs.wait_for('computes up with %d vCPUs each' % hosts.THREADS, up,
                       self.timeout,
                       interval=2, alive=self._sup.check)

    def run_helper(self, name, argv):
        """Run a helper of the harness to completion, with the services'
        environment, logged like them."""
        self._sup.run(name, argv, env=self.env, timeout=self.timeout)


def _ini(sections):
    out = []
    for name, items in sections.items():
        out.append('[%s]' % name)
        out.extend('%s = %s' % kv for kv in items)
        out.append('')
    return '\n'.join(out) + '\n'


def _read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''
