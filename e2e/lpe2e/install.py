"""Where the libplacement under test is installed, and how to reach it.

``--install system``: installed in the system — libplacement's Debian
packages installed with apt-get (e2e/run-debs.sh does so in an overlay of
this system), or ``make install PREFIX=/usr``; nothing is added.

``--install prefix:ROOT``: ``make install PREFIX=/usr/local DESTDIR=ROOT``
put the library, the agent, the ``libplacement`` module and the plugin
packages (with their entry points) under ROOT.

``--install unpacked:ROOT``: the Debian packages unpacked into ROOT
(``dpkg-deb -x``), where apt-get cannot install them.

For the last two, the services get ROOT's Python directory on PYTHONPATH
and its library directory on LD_LIBRARY_PATH. Either way the harness asks a
Python with the services' environment which files Nova will load, and
reports them.
"""

import glob
import json
import os
import shutil
import subprocess
import sysconfig

PYTHON = '/usr/bin/python3'


class Installation(object):

    def __init__(self, spec, e2e_dir):
        self.spec = spec
        self._e2e_dir = e2e_dir
        kind, _, root = spec.partition(':')
        root = os.path.abspath(root) if root else ''
        if kind == 'prefix' and root:
            usr = os.path.join(root, 'usr', 'local')
            self.python_path = glob.glob(os.path.join(
                usr, 'lib', 'python3*', 'dist-packages'))
            self.library_path = [os.path.join(usr, 'lib')]
            self.agent = os.path.join(usr, 'bin', 'libplacement-agent')
            self.description = ('make install PREFIX=/usr/local into %s'
                                % root)
        elif kind == 'unpacked' and root:
            self.python_path = [os.path.join(root, 'usr', 'lib', 'python3',
                                             'dist-packages')]
            self.library_path = [os.path.join(
                root, 'usr', 'lib', sysconfig.get_config_var('MULTIARCH'))]
            self.agent = os.path.join(root, 'usr', 'bin', 'libplacement-agent')
            self.description = 'Debian packages unpacked into %s' % root
        elif spec == 'system':
            self.python_path = []
            self.library_path = []
            self.agent = shutil.which('libplacement-agent') or \
                '/usr/bin/libplacement-agent'
            self.description = 'installed in the system'
        else:
            raise ValueError('--install: system, prefix:ROOT or '
                             'unpacked:ROOT, not %r' % spec)
        if root and not all(os.path.isdir(p) for p in self.python_path or
                            [os.path.join(root, 'missing')]):
            raise RuntimeError('--install %s: no Python packages under %s'
                               % (spec, root))
        if not os.access(self.agent, os.X_OK):
            raise RuntimeError('--install %s: no libplacement-agent at %s'
                               % (spec, self.agent))

    def env(self, base=None):
        """Environment for every Nova service and helper of the run: the
        installation, and this harness's package (lpe2e: the paste filter,
        the service wrapper) — never the source tree's own nova_filter."""
        env = dict(base if base is not None else os.environ)
        env['PYTHONPATH'] = ':'.join(self.python_path + [self._e2e_dir])
        if self.library_path:
            env['LD_LIBRARY_PATH'] = ':'.join(
                self.library_path + [p for p in env.get('LD_LIBRARY_PATH',
                                                        '').split(':') if p])
        env['PYTHONDONTWRITEBYTECODE'] = '1'
        return env

    def loaded_files(self):
        """{'libplacement': file, 'nova_filter': dir, 'shared': [.so]} as the
        services will load them (asked of a Python with their environment)."""
        code = ('import json, libplacement, nova_filter, os\n'
                'print(json.dumps({"libplacement": libplacement.__file__,\n'
                '  "nova_filter": os.path.dirname(nova_filter.__file__)}))\n')
        r = subprocess.run([PYTHON, '-c', code], env=self.env(),
                           capture_output=True, text=True, cwd='/')
        if r.returncode:
            raise RuntimeError('the installed libplacement does not import: %s'
                               % r.stderr.strip())
        found = json.loads(r.stdout)
        found['shared'] = self._shared_objects(found['libplacement'])
        return found

    def _shared_objects(self, module_file):
        """libplacement shared objects the module links (none when the core
        is linked in statically)."""
        r = subprocess.run(['ldd', module_file], env=self.env(),
                           capture_output=True, text=True)
        out = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if parts and parts[0].startswith('libplacement') and '=>' in parts:
                out.append(os.path.realpath(parts[parts.index('=>') + 1]))
        return out

