"""devstack/plugin.sh, phase by phase, under devstack's own functions.

Each test builds a devstack node in a temporary directory: the plugin
cloned into $DEST/libplacement (a git clone of this working tree, as
devstack's fetch_plugins makes), devstack's global venv (python3 -m venv
--system-site-packages, as setup_devstack_virtualenv makes it), a
requirements checkout (upper-constraints.txt and a stand-in of its
edit-constraints tool), nova.conf and zun.conf as lib/nova and Zun's plugin
write them, and a localrc.  run-phases.sh then sources the functions and
stackrc of a devstack tree and runs the phases as stack.sh, unstack.sh and
clean.sh do, with errexit.

The devstack tree is $DEVSTACK (`make check-devstack DEVSTACK=/path`,
`make check-devstack-real`), else the stand-in of standin/, which behaves
as devstack 493835a6 for the functions the plugin uses.  Nothing is
mocked but the programs that would change the machine (tests/devstack/bin:
sudo, apt-get, systemctl, ldconfig): make builds and installs for real into
a temporary prefix, pip installs the package from the clone into the venv
(offline: PIP_NO_INDEX; the package has no dependencies and builds without
build isolation), run_process writes the agent's systemd unit, and the agent
is started from that unit's command line.  nova.conf is read with Nova's
own option definitions (python3-nova), zun.conf with zun_driver's, through
oslo.config.
"""

import http.client
import os
import shlex
import shutil
import socket
import stat
import subprocess
import time

from nova.conf import scheduler as nova_scheduler_conf
from oslo_config import cfg
import pytest

from zun_driver import opts as zun_opts

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DEVSTACK = os.environ.get('DEVSTACK') or os.path.join(HERE, 'standin')
SYSTEM_PYTHON = '/usr/bin/python3'
STACK = ['stack pre-install', 'stack install', 'stack post-config',
         'stack extra', 'stack test-config']
# Configuration only (no build): tests of which services get what.
CONFIGURE = ['stack post-config', 'stack extra']
UNIT = 'devstack@libplacement-agent.service'

# nova.conf as devstack's lib/nova writes it (iniset on a fresh file, hence
# the leading blank line), abridged; NOVA_FILTERS in [filter_scheduler].
DEVSTACK_NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                         'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                         'ServerGroupAffinityFilter,SameHostFilter,'
                         'DifferentHostFilter')
NOVA_CONF = """
[DEFAULT]
debug = True
my_ip = 192.0.2.10
transport_url = rabbit://stackrabbit:secret@192.0.2.10:5672/

[filter_scheduler]
enabled_filters = %s
track_instance_changes = False

[scheduler]
workers = 2

[placement]
auth_type = password
""" % DEVSTACK_NOVA_FILTERS
# zun.conf as Zun's devstack plugin writes it: no [scheduler] section.
ZUN_CONF = """
[DEFAULT]
container_driver = docker
db_type = sql
debug = True
logging_context_format_string = %(asctime)s.%(msecs)03d %(levelname)s \
%(name)s [%(request_id)s %(user_name)s %(project_name)s] %(message)s

[database]
connection = mysql+pymysql://root:secret@192.0.2.10/zun?charset=utf8

[api]
port = 9517
"""
UPPER_CONSTRAINTS = """oslo.config===9.4.0
libplacement===0.9.0
pbr===6.1.0
"""
ALL = 'key,n-api,n-sch,n-cond,n-cpu,placement-api,zun-api,zun-compute'
# The package's top-level modules, installed into devstack's venv.
MODULES = ('libplacement', 'libplacement_oslo', 'nova_filter', 'zun_driver')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tree_files():
    """This working tree's files as git sees them (committed or not)."""
    out = subprocess.run(
        ['git', '-C', TOP, 'ls-files', '-z', '--cached', '--others',
         '--exclude-standard'], check=True, stdout=subprocess.PIPE).stdout
    return [f for f in out.decode().split('\0')
            if f and os.path.lexists(os.path.join(TOP, f))]


@pytest.fixture(scope='module')
def plugin_repo(tmp_path_factory):
    """A git repository of this working tree, which nodes clone."""
    missing = [n for n in ('functions', 'functions-common', 'stackrc',
                           'inc/python', 'inc/ini-config')
               if not os.path.isfile(os.path.join(DEVSTACK, n))]
    assert not missing, 'DEVSTACK=%s is not a devstack tree: no %s' % (
        DEVSTACK, ', '.join(missing))
    repo = str(tmp_path_factory.mktemp('repo'))
    for name in _tree_files():
        dest = os.path.join(repo, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(TOP, name), dest, follow_symlinks=False)
    git = ['git', '-C', repo, '-c', 'user.name=test',
           '-c', 'user.email=test@example.invalid']
    subprocess.run(git + ['init', '-q'], check=True)
    subprocess.run(git + ['add', '-A'], check=True)
    subprocess.run(git + ['commit', '-q', '-m', 'tree'], check=True)
    return repo


class Node(object):
    """A devstack node in a temporary directory."""

    def __init__(self, tmp, repo, services, nova_conf=NOVA_CONF,
                 zun_conf=ZUN_CONF, localrc=''):
        self.tmp = str(tmp)
        self.dest = os.path.join(self.tmp, 'opt', 'stack')
        self.data = os.path.join(self.dest, 'data')
        self.src = os.path.join(self.dest, 'libplacement')
        self.venv = os.path.join(self.data, 'venv')
        self.state = os.path.join(self.data, 'libplacement')
        self.token_file = os.path.join(self.state, 'agent-token')
        self.prefix = os.path.join(self.tmp, 'prefix')
        self.home = os.path.join(self.tmp, 'home')
        self.unit = os.path.join(self.home, '.local/share/systemd/user', UNIT)
        self.nova_conf = os.path.join(self.tmp, 'etc/nova/nova.conf')
        self.zun_conf = os.path.join(self.tmp, 'etc/zun/zun.conf')
        self.calls_file = os.path.join(self.tmp, 'calls')
        self.port = _free_port()

        subprocess.run(['git', 'clone', '-q', repo, self.src], check=True)
        subprocess.run([SYSTEM_PYTHON, '-m', 'venv', '--system-site-packages',
                        self.venv], check=True)
        reqs = os.path.join(self.dest, 'requirements')
        self.constraints = os.path.join(reqs, 'upper-constraints.txt')
        os.makedirs(os.path.join(reqs, '.venv', 'bin'))
        os.symlink(os.path.join(HERE, 'bin', 'edit-constraints'),
                   os.path.join(reqs, '.venv', 'bin', 'edit-constraints'))
        os.makedirs(self.home)
        for path, text in ((self.nova_conf, nova_conf),
                           (self.zun_conf, zun_conf),
                           (self.constraints, UPPER_CONSTRAINTS)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)

        # TOP_DIR: the devstack tree's files, and local.conf's localrc
        self.top = os.path.join(self.tmp, 'devstack')
        os.makedirs(self.top)
        for name in ('functions', 'functions-common', 'stackrc', 'inc'):
            os.symlink(os.path.join(DEVSTACK, name),
                       os.path.join(self.top, name))
        with open(os.path.join(self.top, 'localrc'), 'w') as f:
            f.write(f"""DEST={self.dest}
DATA_DIR={self.data}
HOST_IP=127.0.0.1
USER_UNITS=True
ENABLED_SERVICES={services}
NOVA_CONF={self.nova_conf}
ZUN_CONF={self.zun_conf}
LIBPLACEMENT_PREFIX={self.prefix}
LIBPLACEMENT_AGENT_PORT={self.port}
enable_plugin libplacement file://{self.src}
{localrc}""")
        self.env = {
            'PATH': os.path.join(HERE, 'bin') + ':/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': self.home, 'LANG': 'C.UTF-8', 'TERM': 'dumb',
            'DEVSTACK_TOP': self.top, 'HARNESS_ROOT': self.tmp,
            'HARNESS_CALLS': self.calls_file,
            'HARNESS_SYSTEMD_ENABLED': os.path.join(self.tmp, 'enabled-units'),
            # offline: the package has no dependencies to fetch
            'PIP_NO_INDEX': '1', 'PIP_DISABLE_PIP_VERSION_CHECK': '1',
            'PIP_NO_CACHE_DIR': '1',
        }

    def _run(self, phases):
        if os.path.exists(self.calls_file):
            os.unlink(self.calls_file)
        return subprocess.run(
            ['bash', os.path.join(HERE, 'run-phases.sh')] + list(phases),
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=900)

    def run(self, *phases):
        """Run the phases; the calls the stand-in programs recorded."""
        proc = self._run(phases)
        assert proc.returncode == 0, proc.stdout[-20000:]
        return self.calls()

    def run_fails(self, *phases):
        proc = self._run(phases)
        assert proc.returncode != 0, proc.stdout[-20000:]
        return proc.stdout

    def calls(self):
        if not os.path.exists(self.calls_file):
            return []
        with open(self.calls_file) as f:
            return [line.rstrip('\n').split('|') for line in f]

    def files(self):
        with open(self.nova_conf) as f, open(self.zun_conf) as g:
            return f.read(), g.read()

    def installed(self):
        found = []
        for root, dirs, files in os.walk(self.prefix):
            found += [os.path.join(root, n) for n in files]
        return sorted(found)

    def token(self):
        with open(self.token_file) as f:
            return f.read().strip()

    def venv_python(self, code):
        return subprocess.run(
            [os.path.join(self.venv, 'bin', 'python3'), '-c', code],
            cwd=self.tmp, env={'PATH': '/usr/bin:/bin', 'HOME': self.home},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True)

    def venv_packages(self):
        site = subprocess.run(
            [os.path.join(self.venv, 'bin', 'python3'), '-c',
             'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
            check=True, stdout=subprocess.PIPE,
            universal_newlines=True).stdout.strip()
        return sorted(os.listdir(site))

    def unit_options(self):
        options = {}
        with open(self.unit) as f:
            for line in f:
                key, sep, value = line.partition(' = ')
                if sep:
                    options.setdefault(key.strip(), []).append(value.strip())
        return options


def nova(path):
    """nova.conf as Nova reads it (its real [filter_scheduler] options)."""
    conf = cfg.ConfigOpts()
    nova_scheduler_conf.register_opts(conf)
    conf.register_opts([cfg.StrOpt('agent_url'),
                        cfg.StrOpt('agent_token', secret=True),
                        cfg.FloatOpt('max_parallel_ratio'),
                        cfg.BoolOpt('fail_open')], group='libplacement')
    conf(['--config-file', path], project='nova')
    return conf


def zun(path):
    """zun.conf with Zun's option types and zun_driver's options."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('container_driver', default='docker'),
                        cfg.StrOpt('db_type', default='sql')])
    conf.register_opts([
        cfg.MultiStrOpt('available_filters',
                        default=['zun.scheduler.filters.all_filters']),
        cfg.ListOpt('enabled_filters',
                    default=['AvailabilityZoneFilter', 'ComputeFilter',
                             'RuntimeFilter'])], group='scheduler')
    zun_opts.register_opts(conf)
    conf(['--config-file', path], project='zun')
    return conf


def has_section(path, section):
    with open(path) as f:
        return any(line.strip() == '[%s]' % section for line in f)


def system_pip_calls(calls):
    """Calls that would run the system's pip (as root through sudo)."""
    return [c for c in calls if c[0] == 'sudo' and '-m' in c and 'pip' in c]


@pytest.fixture(scope='module')
def stacked(tmp_path_factory, plugin_repo):
    """An all-in-one node after every stack phase, and the calls made."""
    node = Node(tmp_path_factory.mktemp('stacked'), plugin_repo, ALL)
    return node, node.run(*STACK)


def test_post_config_nova(stacked):
    node, _calls = stacked
    conf = nova(node.nova_conf)
    fs = conf.filter_scheduler
    assert fs.available_filters == ['nova.scheduler.filters.all_filters',
                                    'nova_filter.all_filters']
    assert fs.enabled_filters == (DEVSTACK_NOVA_FILTERS.split(',') +
                                  ['ParallelismFilter', 'RuntimeFilter'])
    assert fs.weight_classes == ['nova.scheduler.weights.all_weighers',
                                 'nova_filter.weighers.ParallelismWeigher']
    assert fs.track_instance_changes is False       # untouched
    assert conf.libplacement.agent_url == \
        'http://{host}:%d/v1/snapshot' % node.port
    assert conf.libplacement.agent_token == node.token()
    assert conf.libplacement.max_parallel_ratio == 1.0
    assert conf.libplacement.fail_open is True
    assert conf.scheduler.workers == 2              # untouched


def test_post_config_zun(stacked):
    node, _calls = stacked
    conf = zun(node.zun_conf)
    assert conf.scheduler.available_filters == [
        'zun.scheduler.filters.all_filters',
        'zun_driver.filters.LibplacementFilter']
    assert conf.scheduler.enabled_filters == [
        'AvailabilityZoneFilter', 'ComputeFilter', 'RuntimeFilter',
        'LibplacementFilter']
    assert conf.container_driver == 'libplacement.docker'
    assert conf.db_type == 'sql'                    # untouched
    assert conf.libplacement.docker_runtimes == {
        'container': 'runc', 'unikernel': 'kata-runtime',
        'vm': 'kata-runtime'}
    assert conf.libplacement.agent_url == \
        'http://{host}:%d/v1/snapshot' % node.port
    assert conf.libplacement.agent_token == node.token()


def test_agent_token_is_random_and_private(stacked):
    node, calls = stacked
    token = node.token()
    assert len(token) == 64 and int(token, 16) >= 0
    st = os.stat(node.token_file)
    assert stat.S_IMODE(st.st_mode) == 0o600
    # The agent runs as root and refuses a token file of another user's;
    # here one user runs everything, so the file must have been written
    # through sudo (which the stand-in runs as this user).
    assert st.st_uid == os.geteuid()
    assert ['sudo', 'sh', '-c', 'umask 077 && cat > "$1"', 'sh',
            node.token_file] in calls


def test_install_builds_and_installs_the_c_parts(stacked):
    node, calls = stacked
    apt = [c for c in calls if c[0] == 'apt-get' and 'install' in c]
    assert apt and 'libjson-c-dev' in apt[0] and 'patch' in apt[0]
    p = node.prefix
    assert node.installed() == sorted(
        [p + '/bin/libplacement-agent', p + '/bin/lpctl',
         p + '/include/libplacement.h',
         p + '/lib/libplacement-collect.a', p + '/lib/libplacement.a',
         p + '/lib/libplacement.so', p + '/lib/libplacement.so.1',
         p + '/lib/libplacement.so.1.0.0',
         p + '/lib/pkgconfig/libplacement.pc'] +
        [p + '/include/libplacement/' + h for h in os.listdir(
            os.path.join(node.src, 'libplacement/include/libplacement'))])
    assert os.path.realpath(p + '/lib/libplacement.so') == \
        p + '/lib/libplacement.so.1.0.0'
    for binary in ('bin/libplacement-agent', 'lib/libplacement.so.1.0.0'):
        with open(os.path.join(p, binary), 'rb') as f:
            assert f.read(4) == b'\x7fELF', binary
    # only what the manifest lists, nothing outside the prefix (no
    # /etc/libplacement/agent.conf, no second agent unit)
    with open(os.path.join(node.state, 'installed-files')) as f:
        manifest = f.read().splitlines()
    assert sorted(manifest) == node.installed()
    assert ['ldconfig'] in calls


def test_python_package_goes_into_devstacks_venv(stacked):
    node, calls = stacked
    proc = node.venv_python(
        'import importlib, importlib.metadata as md\n'
        'for m in %r: print(importlib.import_module(m).__file__)\n'
        'print(md.version("libplacement"))\n'
        'eps = md.entry_points(group="zun.container.driver")\n'
        'print([e.value for e in eps if e.name == "libplacement.docker"])'
        % (MODULES,))
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    for line in lines[:len(MODULES)]:
        assert line.startswith(node.venv + '/lib/'), line
    assert lines[len(MODULES)] == '1.0.0'
    assert lines[-1] == "['zun_driver.driver:LibplacementDockerDriver']"
    assert not system_pip_calls(calls)


def test_setup_install_unpins_the_package_by_its_setup_cfg_name(stacked):
    node, calls = stacked
    assert ['edit-constraints', node.constraints, '--', 'libplacement'] \
        in calls
    with open(node.constraints) as f:
        assert f.read() == 'oslo.config===9.4.0\npbr===6.1.0\n'


def test_run_process_writes_the_only_agent_unit(stacked):
    node, calls = stacked
    unit = node.unit_options()
    assert unit['ExecStart'] == [
        '%s/bin/libplacement-agent --token-file %s --listen 0.0.0.0 '
        '--port %d' % (node.prefix, node.token_file, node.port)]
    assert unit['User'] == ['root']
    assert 'LD_LIBRARY_PATH=%s/lib' % node.prefix in unit['Environment']
    assert ['systemctl', '--user', 'enable', UNIT] in calls
    assert ['systemctl', '--user', 'start', UNIT] in calls
    units = [n for p in node.installed() for n in [os.path.basename(p)]
             if n.endswith('.service')]
    assert units == []


def test_agent_from_the_unit_requires_the_token(stacked):
    """The unit's command line, run: 401 without the token nova.conf has."""
    node, _calls = stacked
    unit = node.unit_options()
    env = dict(var.split('=', 1) for value in unit['Environment']
               for var in shlex.split(value))
    agent = subprocess.Popen(shlex.split(unit['ExecStart'][0]) +
                             ['--collectors', 'proc'], env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)

    def get(headers, path='/v1/snapshot'):
        conn = http.client.HTTPConnection('127.0.0.1', node.port, timeout=30)
        try:
            conn.request('GET', path, headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 120       # hang guard only
        while True:
            assert agent.poll() is None, 'agent exited %s' % agent.returncode
            try:
                status = get({})
                break
            except OSError:
                assert time.monotonic() < deadline, 'agent never listened'
                time.sleep(0.1)
        assert status == 401
        assert get({'Authorization': 'Bearer wrong'}) == 401
        assert get({}, '/metrics') == 401
        token = nova(node.nova_conf).libplacement.agent_token
        # 503 until its first two sweeps: the token was accepted
        assert get({'Authorization': 'Bearer ' + token}) in (200, 503)
    finally:
        agent.terminate()
        agent.wait(timeout=60)


def test_twice_idempotent_then_unstack_clean_undo(tmp_path, plugin_repo):
    node = Node(tmp_path, plugin_repo, ALL)
    pristine_venv = node.venv_packages()
    node.run(*STACK)
    first = (node.files(), node.installed(), node.token(),
             node.unit_options(), node.venv_packages())
    node.run(*STACK)
    assert (node.files(), node.installed(), node.token(),
            node.unit_options(), node.venv_packages()) == first
    with open(os.path.join(node.state, 'installed-files')) as f:
        assert sorted(f.read().splitlines()) == first[1]   # no duplicates

    calls = node.run('unstack')
    assert calls == [['systemctl', '--user', 'is-enabled', UNIT],
                     ['systemctl', '--user', 'stop', UNIT],
                     ['systemctl', '--user', 'disable', UNIT]]
    assert node.files() == first[0]

    calls = node.run('clean')
    assert node.files() == (NOVA_CONF, ZUN_CONF)     # byte for byte
    assert not os.path.exists(node.prefix)
    assert not os.path.exists(node.state)
    assert not os.path.exists(os.path.join(node.src, 'build'))
    assert node.venv_packages() == pristine_venv
    proc = node.venv_python('import libplacement')
    assert proc.returncode != 0 and 'ModuleNotFoundError' in proc.stdout
    assert not system_pip_calls(calls)
    status = subprocess.run(
        ['git', '-C', node.src, 'status', '--porcelain', '--ignored'],
        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert status == ''

    # and the node stacks again from there, with a new token
    node.run(*STACK)
    token = node.token()
    assert token != first[2]
    assert tuple(f.replace(token, 'T') for f in node.files()) == \
        tuple(f.replace(first[2], 'T') for f in first[0])


def test_existing_settings_kept_and_restored_byte_for_byte(tmp_path,
                                                           plugin_repo):
    """An operator's own values: lists with blanks, a multi-valued option
    that is not first in its section, an explicit default, a replaced
    file under the prefix."""
    nova_conf = """[DEFAULT]
debug = False

[filter_scheduler]
host_subset_size = 2
available_filters = my.filters.all_filters
weight_classes = nova.scheduler.weights.ram.RAMWeigher, my.weights.MyWeigher
"""
    zun_conf = """[DEFAULT]
container_driver = docker

[scheduler]
driver = filter_scheduler
available_filters = zun.scheduler.filters.all_filters
available_filters = my.zun.MyFilter
enabled_filters = ComputeFilter, MyFilter
"""
    node = Node(tmp_path, plugin_repo, ALL, nova_conf=nova_conf,
                zun_conf=zun_conf)
    os.makedirs(os.path.join(node.prefix, 'bin'))
    operators_lpctl = os.path.join(node.prefix, 'bin', 'lpctl')
    with open(operators_lpctl, 'w') as f:
        f.write('#!/bin/sh\necho an older lpctl\n')
    os.chmod(operators_lpctl, 0o750)

    node.run(*STACK)
    fs = nova(node.nova_conf).filter_scheduler
    assert fs.available_filters == ['my.filters.all_filters',
                                    'nova_filter.all_filters']
    # enabled_filters was unset: Nova's defaults are kept, ours appended
    assert fs.enabled_filters == [
        'ComputeFilter', 'ComputeCapabilitiesFilter', 'ImagePropertiesFilter',
        'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter',
        'ParallelismFilter', 'RuntimeFilter']
    assert fs.weight_classes == ['nova.scheduler.weights.ram.RAMWeigher',
                                 'my.weights.MyWeigher',
                                 'nova_filter.weighers.ParallelismWeigher']
    assert fs.host_subset_size == 2
    sched = zun(node.zun_conf).scheduler
    assert sched.available_filters == [
        'zun.scheduler.filters.all_filters', 'my.zun.MyFilter',
        'zun_driver.filters.LibplacementFilter']
    assert sched.enabled_filters == ['ComputeFilter', 'MyFilter',
                                     'LibplacementFilter']
    with open(operators_lpctl, 'rb') as f:
        assert f.read(4) == b'\x7fELF'

    node.run('unstack', 'clean')
    assert node.files() == (nova_conf, zun_conf)
    with open(operators_lpctl) as f:
        assert f.read() == '#!/bin/sh\necho an older lpctl\n'
    assert stat.S_IMODE(os.stat(operators_lpctl).st_mode) == 0o750
    assert node.installed() == [operators_lpctl]


def test_clean_keeps_what_changed_after_post_config(tmp_path, plugin_repo):
    node = Node(tmp_path, plugin_repo, ALL)
    node.run(*CONFIGURE)
    nova_text, zun_text = node.files()
    # elsewhere in zun.conf: clean reverts only the plugin's change
    with open(node.zun_conf, 'w') as f:
        f.write(zun_text.replace('port = 9517', 'port = 9518'))
    # on a line the plugin changed too: clean removes its values one by one
    ours = ','.join(DEVSTACK_NOVA_FILTERS.split(',') +
                    ['ParallelismFilter', 'RuntimeFilter'])
    assert ours in nova_text
    with open(node.nova_conf, 'w') as f:
        f.write(nova_text.replace(ours, ours + ',MyFilter'))

    output = node._run(['clean']).stdout
    assert node.files() == (
        NOVA_CONF.replace(DEVSTACK_NOVA_FILTERS,
                          DEVSTACK_NOVA_FILTERS + ',MyFilter'),
        ZUN_CONF.replace('port = 9517', 'port = 9518')), output
    assert '%s changed since post-config' % node.nova_conf in output
    assert '%s changed since' % node.zun_conf not in output


def test_setup_install_needs_setup_cfg(tmp_path, plugin_repo):
    """devstack reads the package name from setup.cfg: without it
    `stack install` ends the run."""
    node = Node(tmp_path, plugin_repo, ALL)
    os.unlink(os.path.join(node.src, 'setup.cfg'))
    output = node.run_fails('stack install')
    assert 'setup.cfg' in output
    assert not [c for c in node.calls() if c[0] == 'edit-constraints']


def test_nova_only_controller(tmp_path, plugin_repo):
    """No Zun, no compute service: zun.conf untouched, no agent started."""
    node = Node(tmp_path, plugin_repo, 'key,n-api,n-sch,placement-api')
    calls = node.run(*CONFIGURE)
    assert node.files()[1] == ZUN_CONF
    assert not os.path.exists(node.unit)
    assert not [c for c in calls if c[0] == 'systemctl']
    conf = nova(node.nova_conf)
    assert 'ParallelismFilter' in conf.filter_scheduler.enabled_filters
    assert conf.libplacement.agent_token == node.token()
    node.run('unstack', 'clean')
    assert node.files() == (NOVA_CONF, ZUN_CONF)


def test_agent_disabled(tmp_path, plugin_repo):
    """local.conf: disable_service libplacement-agent."""
    node = Node(tmp_path, plugin_repo, ALL,
                localrc='disable_service libplacement-agent\n')
    node.run(*CONFIGURE)
    assert not os.path.exists(node.unit)
    assert not os.path.exists(node.token_file)
    conf = nova(node.nova_conf)
    assert conf.libplacement.agent_url is None
    assert conf.libplacement.agent_token is None
    assert 'ParallelismFilter' in conf.filter_scheduler.enabled_filters
    assert zun(node.zun_conf).libplacement.agent_url is None
    node.run('unstack', 'clean')
    assert node.files() == (NOVA_CONF, ZUN_CONF)


def test_compute_only_node_with_shared_token(tmp_path, plugin_repo):
    """A compute node of a multi-node cloud: the Zun driver, no scheduler
    changes, the token every node was given."""
    token = 'b1f0c2d4e6a8' * 4
    node = Node(tmp_path, plugin_repo, 'n-cpu,zun-compute',
                localrc='LIBPLACEMENT_AGENT_TOKEN=%s\n' % token)
    node.run(*CONFIGURE)
    conf = zun(node.zun_conf)
    assert conf.container_driver == 'libplacement.docker'
    assert conf.scheduler.enabled_filters == [
        'AvailabilityZoneFilter', 'ComputeFilter', 'RuntimeFilter']
    assert conf.libplacement.agent_token == token
    assert node.token() == token
    assert node.files()[0] == NOVA_CONF
    assert '--token-file %s ' % node.token_file in \
        node.unit_options()['ExecStart'][0]
    node.run('unstack', 'clean')
    assert node.files() == (NOVA_CONF, ZUN_CONF)
