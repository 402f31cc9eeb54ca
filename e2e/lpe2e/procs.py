"""Processes of the run: started in their own process groups, logged to files,
stopped group by group, never left behind.

Every process is started through ``setpriv --pdeathsig KILL`` in a new session:
if the harness itself is killed (even with SIGKILL), the kernel kills its
direct children, and ``Supervisor.stop_all`` kills whole process groups
(a service's helpers included) on every other way out.
"""

import os
import signal
import socket
import subprocess
import time


class ServiceDied(RuntimeError):
    """A process the run depends on exited."""


class Interrupted(BaseException):
    """A signal asked the run to stop (teardown still runs)."""


# The signal that asked the run to stop. The handler raises Interrupted at
# once; should that land where Python ignores exceptions (a finalizer),
# the next pause() raises it.
_stop_signal = []


def request_stop(name):
    _stop_signal.append(name)
    raise Interrupted(name)


def pause(seconds):
    """time.sleep, ending the run if a signal asked it to stop."""
    if _stop_signal:
        raise Interrupted(_stop_signal[0])
    time.sleep(seconds)


def free_port(address='127.0.0.1'):
    """A TCP port the kernel reports free on address (bound then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def free_port_on_all(addresses):
    """A TCP port free on every one of addresses."""
    for _ in range(100):
        port = free_port(addresses[0])
        try:
            for address in addresses[1:]:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError('no TCP port free on all of %s' % ', '.join(addresses))


def wait_for(what, check, timeout, interval=0.5, alive=None):
    """Call check() until it returns a true value; return that value.

    timeout is a hang guard, not a performance bound. alive(), when given,
    is called between attempts and raises if something needed has died.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = check()
            if value:
                return value
        except (OSError, ValueError, KeyError) as e:
            last_error = e
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise TimeoutError('%s: not within %.0f s%s' % (
                what, timeout,
                ' (last error: %s)' % last_error if last_error else ''))
        pause(interval)


def tcp_open(address, port):
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def log_tail(path, lines=25):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return '(no log)'
    return '\n'.join(text.splitlines()[-lines:])


class Process(object):
    """One started process (and its process group)."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self.expected_exit = False

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def signal_group(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace=15.0):
        """SIGTERM to the group, SIGKILL to what is left after grace s."""
        self.expected_exit = True
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        # Helpers of the group may outlive its leader.
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass


class Supervisor(object):
    """Starts processes, notices when one dies, stops them all."""

    def __init__(self, log_dir, cwd):
        self.log_dir = log_dir
        # Not the source tree: Python would import its nova_filter and
        # libplacement directories instead of the installation under test.
        self.cwd = cwd
        self._procs = []

    def start(self, name, argv, env=None, cwd=None, stdin=None):
        """Start argv as a new session, its output to log_dir/name.log."""
        log_path = os.path.join(self.log_dir, name + '.log')
        log = open(log_path, 'ab')
        try:
            popen = subprocess.Popen(
                ['setpriv', '--pdeathsig', 'KILL', '--'] + list(argv),
                stdout=log, stderr=subprocess.STDOUT,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                env=env, cwd=cwd or self.cwd, start_new_session=True)
        finally:
            log.close()
        proc = Process(name, popen, log_path)
        self._procs.append(proc)
        return proc

    def run(self, name, argv, env=None, timeout=600, cwd=None):
        """Run argv to completion (logged like a service); raise on failure."""
        proc = self.start(name, argv, env=env, cwd=cwd)
        proc.expected_exit = True
        try:
            rc = proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.stop(grace=5)
            raise TimeoutError('%s: still running after %d s; log %s:\n%s'
                               % (name, timeout, proc.log_path,
                                  log_tail(proc.log_path)))
        finally:
            self._procs.remove(proc)
        if rc != 0:
            raise RuntimeError('%s exited with status %d; log %s:\n%s'
                               % (name, rc, proc.log_path,
                                  log_tail(proc.log_path)))

    def check(self):
        """Raise ServiceDied if a process exited that was not stopped."""
        for proc in self._procs:
            if not proc.expected_exit and not proc.running():
                proc.expected_exit = True
                raise ServiceDied('%s exited with status %s; log %s:\n%s' % (
                    proc.name, proc.popen.returncode, proc.log_path,
                    log_tail(proc.log_path)))

    def stop(self, proc, grace=15.0):
        proc.stop(grace)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self):
        """Stop every process, the last started first."""
        for proc in reversed(self._procs):
            proc.expected_exit = True
            proc.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in reversed(self._procs):
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in reversed(self._procs):
            proc.signal_group(signal.SIGKILL)
            try:
                proc.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._procs = []
