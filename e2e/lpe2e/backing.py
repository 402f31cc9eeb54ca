"""MariaDB and RabbitMQ of the run: private data directories under the work
directory, loopback only, ports chosen free at start.

Nova's services are separate processes, so they need a database that takes
concurrent writers (SQLite answers "database is locked") and a real message
broker (oslo.messaging's fake driver works inside one process only).
"""

import os
import subprocess
import tempfile

from lpe2e import procs

DATABASES = ('placement', 'nova_api', 'nova_cell0', 'nova_cell1')


class MariaDB(object):
    """mariadbd on 127.0.0.1 with its own datadir; user root, no password."""

    def __init__(self, supervisor, workdir):
        self._sup = supervisor
        self.datadir = os.path.join(workdir, 'mariadb')
        # Short: a Unix socket's path has at most 107 bytes; mariadbd
        # removes it when it stops.
        self.socket = os.path.join(tempfile.gettempdir(),
                                   os.path.basename(workdir) + '.mariadb.sock')
        self.port = None
        self.proc = None

    def url(self, database):
        return 'mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8' % (
            self.port, database)

    def start(self, timeout):
        self._sup.run('mariadb-install-db', [
            'mariadb-install-db', '--no-defaults', '--datadir=' + self.datadir,
            '--user=root', '--auth-root-authentication-method=normal',
            '--skip-test-db'], timeout=timeout)
        self.port = procs.free_port()
        # Durability is not needed for a run that is thrown away; speed on a
        # loaded machine is.
        self.proc = self._sup.start('mariadb', [
            'mariadbd', '--no-defaults', '--datadir=' + self.datadir,
            '--socket=' + self.socket, '--port=%d' % self.port,
            '--bind-address=127.0.0.1', '--user=root',
            '--pid-file=' + os.path.join(self.datadir, 'mariadbd.pid'),
            '--skip-log-bin', '--innodb-buffer-pool-size=128M',
            '--innodb-flush-log-at-trx-commit=0', '--max-connections=2000',
            '--skip-name-resolve'])
        procs.wait_for('MariaDB answering on 127.0.0.1:%d' % self.port,
                       lambda: self._sql('SELECT 1', check=False) == 0,
                       timeout, alive=self._sup.check)
        self._sql(' '.join('CREATE DATABASE %s CHARACTER SET utf8;' % db
                           for db in DATABASES))

    def _sql(self, statement, check=True):
        r = subprocess.run(['mariadb', '--no-defaults', '-S', self.socket,
                            '-uroot', '-e', statement],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if check and r.returncode:
            raise RuntimeError('mariadb: %s: %s' % (
                statement, r.stderr.decode(errors='replace').strip()))
        return r.returncode

    def version(self):
        r = subprocess.run(['mariadbd', '--version'], capture_output=True,
                           text=True)
        words = r.stdout.split()
        return words[2] if len(words) > 2 else '?'


class RabbitMQ(object):
    """rabbitmq-server on 127.0.0.1 with its own epmd, node name, Mnesia and
    Erlang cookie (HOME) in the work directory."""

    def __init__(self, supervisor, workdir, run_id):
        self._sup = supervisor
        self.base = os.path.join(workdir, 'rabbitmq')
        self.node = 'lp-e2e-%s@localhost' % run_id
        self.port = None
        self.epmd = None
        self.proc = None

    @property
    def transport_url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def start(self, timeout):
        os.makedirs(self.base, exist_ok=True)
        epmd_port = procs.free_port()
        self.port = procs.free_port()
        dist_port = procs.free_port()
        conf = os.path.join(self.base, 'rabbitmq.conf')
        with open(conf, 'w') as f:
            f.write('listeners.tcp.1 = 127.0.0.1:%d\n'
                    'loopback_users = none\n'
                    # A loaded shared machine must not trip the alarms.
                    'disk_free_limit.absolute = 1MB\n'
                    'vm_memory_high_watermark.relative = 0.9\n' % self.port)
        with open(os.path.join(self.base, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        env = dict(os.environ, HOME=self.base,
                   ERL_EPMD_PORT=str(epmd_port), ERL_EPMD_ADDRESS='127.0.0.1')
        # epmd in the foreground, in our process group: Erlang would start
        # its own as a daemon that outlives the run.
        self.epmd = self._sup.start('epmd', [
            'epmd', '-port', str(epmd_port), '-address', '127.0.0.1'], env=env)
        procs.wait_for('epmd on 127.0.0.1:%d' % epmd_port,
                       lambda: procs.tcp_open('127.0.0.1', epmd_port),
                       timeout, alive=self._sup.check)
        env.update({
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(dist_port),
            'RABBITMQ_CONFIG_FILE': conf,
        })
        for var, name in (('CONF_ENV_FILE', 'rabbitmq-env.conf'),
                          ('ADVANCED_CONFIG_FILE', 'advanced.config'),
                          ('ENABLED_PLUGINS_FILE', 'enabled_plugins'),
                          ('MNESIA_BASE', 'mnesia'), ('LOG_BASE', 'log'),
                          ('PID_FILE', 'rabbitmq.pid'),
                          ('GENERATED_CONFIG_DIR', 'generated'),
                          ('PLUGINS_EXPAND_DIR', 'plugins-expand')):
            env['RABBITMQ_' + var] = os.path.join(self.base, name)
        # The package's /usr/sbin wrapper switches to the rabbitmq user and
        # its system directories; the server script itself takes the
        # environment above.
        self.proc = self._sup.start(
            'rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'], env=env)
        procs.wait_for('RabbitMQ listening on 127.0.0.1:%d' % self.port,
                       lambda: procs.tcp_open('127.0.0.1', self.port),
                       timeout, alive=self._sup.check)

    def version(self):
        lib = '/usr/lib/rabbitmq/lib'
        names = [n for n in os.listdir(lib)
                 if n.startswith('rabbitmq_server-')]
        return names[0].split('-', 1)[1] if names else '?'
