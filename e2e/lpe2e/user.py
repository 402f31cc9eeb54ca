"""What a user of the cloud does, through Nova's REST API (python-novaclient):
flavors, boots, waits, deletes.

Every call goes over HTTP to nova-api as ``admin:admin`` (noauth2, see
cloud.py). Waits poll Nova; their timeouts are hang guards.
"""

import time

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from novaclient import client as nova_client
from novaclient import exceptions as nova_exceptions

from lpe2e import cloud as cloud_mod
from lpe2e import procs

SETTLED = ('ACTIVE', 'ERROR')


def make_client(api_url):
    """A novaclient of its own (clients are not shared between threads)."""
    auth = token_endpoint.Token(api_url + '/v2.1', cloud_mod.TOKEN)
    return nova_client.Client(cloud_mod.API_VERSION,
                              session=ks_session.Session(auth=auth))


def host_of(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host', None)


def fault_of(server):
    fault = getattr(server, 'fault', None) or {}
    return fault.get('message', '')


class User(object):
    """The cloud's user (admin of project admin), with one novaclient."""

    def __init__(self, api_url, timeout, on_change=None):
        self.api_url = api_url
        self.nova = make_client(api_url)
        self.timeout = timeout
        # Called with Nova's servers after every step that changed them
        # (the harness starts, moves and stops the instances' processes).
        self._on_change = on_change or (lambda servers: None)
        self._flavors = {}

    # -- flavors ------------------------------------------------------------
    def flavor(self, name, vcpus, extra_specs, ram=2048, disk=1):
        """The flavor name, created once with extra_specs."""
        if name not in self._flavors:
            f = self.nova.flavors.create(name, ram=ram, vcpus=vcpus, disk=disk)
            f.set_keys(extra_specs)
            self._flavors[name] = f
        return self._flavors[name]

    def refused_extra_spec(self, key, value):
        """The API's error for a flavor extra spec, or None if accepted."""
        f = self.nova.flavors.create('probe-%d' % int(time.time() * 1000),
                                     ram=512, vcpus=1, disk=1)
        try:
            f.set_keys({key: value})
            return None
        except nova_exceptions.BadRequest as e:
            return str(e)
        finally:
            self.nova.flavors.delete(f)

    # -- servers --------------------------------------------------------------
    def boot(self, name, flavor, group=None, forced_host=None, client=None):
        """Send one create request; return the server (still building)."""
        kwargs = {'nics': 'none'}
        if group:
            kwargs['scheduler_hints'] = {'libplacement_group': group}
        if forced_host:
            # An operator's forced host: Nova skips the filters for it.
            kwargs['availability_zone'] = 'nova:%s' % forced_host
        return (client or self.nova).servers.create(
            name, cloud_mod.IMAGE_ID, flavor, **kwargs)

    def servers(self):
        return self.nova.servers.list(detailed=True,
                                      search_opts={'all_tenants': 1})

    def wait_settled(self, ids, what='servers'):
        """Wait until every server of ids is ACTIVE or ERROR; {id: server}."""
        ids = set(ids)
        deadline = time.monotonic() + self.timeout
        while True:
            found = {s.id: s for s in self.servers() if s.id in ids}
            pending = [s for s in found.values() if s.status not in SETTLED]
            if len(found) == len(ids) and not pending:
                for s in list(found.values()):
                    if s.status == 'ERROR':
                        found[s.id] = self._with_fault(s)
                self._on_change(self.servers())
                return found
            if time.monotonic() > deadline:
                waiting = len(pending) + len(ids) - len(found)
                raise TimeoutError('%s: %d of %d not ACTIVE or ERROR within '
                                   '%.0f s (%s)' % (
                                       what, waiting, len(ids), self.timeout,
                                       ', '.join('%s %s' % (s.name, s.status)
                                                 for s in pending[:5])))
            procs.pause(1)

    def _with_fault(self, server):
        """The ERROR server as GET shows it: the server list leaves out the
        faults of servers buried in cell0 (NoValidHost), and the fault is
        recorded a moment after the status."""
        deadline = time.monotonic() + 30
        while True:
            server = self.nova.servers.get(server.id)
            if fault_of(server) or time.monotonic() > deadline:
                return server
            procs.pause(1)

    def boot_and_wait(self, name, flavor, **kwargs):
        server = self.boot(name, flavor, **kwargs)
        return self.wait_settled([server.id], name)[server.id]

    def delete_all(self):
        """Delete every server; wait until Nova and its computes forget
        them."""
        for s in self.servers():
            try:
                self.nova.servers.delete(s)
            except nova_exceptions.NotFound:
                pass
        deadline = time.monotonic() + self.timeout
        while True:
            left = self.servers()
            hyps = self.nova.hypervisors.list()
            used = sum(h.vcpus_used for h in hyps)
            if not left and not used:
                self._on_change([])
                return
            if time.monotonic() > deadline:
                raise TimeoutError('deleting servers: %d left, %d vCPUs still '
                                   'used after %.0f s' % (len(left), used,
                                                          self.timeout))
            procs.pause(1)

    def live_migrations_done(self, server_id):
        """The server, once no live migration of it is in progress."""
        s = self.nova.servers.get(server_id)
        if s.status == 'MIGRATING' or getattr(s, 'OS-EXT-STS:task_state',
                                              None):
            return None
        return s

    def changed(self):
        """Tell the harness that servers changed outside this class."""
        self._on_change(self.servers())
