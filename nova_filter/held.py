"""Held placements checked against Nova's database, in the background.

An instance this scheduler placed counts on its host until a request sees
the host list it (``hoststate.Placements``). One that is deleted, or moved
without the scheduler (a forced live migration or evacuation), before any
request saw that, would count where it no longer is until
``scheduled_hold`` passes. So, while placements are held, a green thread
checks those at least ``scheduled_check`` seconds old every
``scheduled_check`` seconds, in bulk: one query of the API database's
instance mappings (``queued_for_delete``, cell), then one instance query
per cell they are in (``deleted``, ``vm_state``, ``host``). A placement
stops counting when its instance

* is gone: no mapping, queued for deletion, deleted or soft-deleted, or no
  longer in its cell's database;
* failed: ``vm_state`` error (its build was aborted, or it was buried in
  cell0);
* is on another host.

An instance not in a cell yet (its mapping has no cell: the conductor has
not created it) or without a host yet keeps counting. Requests never wait
for the check; a failed check is logged and the placements keep counting
until their hosts list them or ``scheduled_hold`` passes.
"""

import time

import eventlet
from oslo_log import log as logging

from nova.compute import vm_states
from nova import context as nova_context
from nova import objects

LOG = logging.getLogger(__name__)

# Instances per database query.
CHUNK = 500
# Seconds before a failing check is logged again.
LOG_INTERVAL = 600.0
GONE_STATES = (vm_states.DELETED, vm_states.SOFT_DELETED)


def instances_gone(ctx, placed):
    """{uuid: why} of the instances of placed ({uuid: host}) that are
    gone, failed or on another host. ctx reads deleted rows."""
    gone = {}
    uuids = list(placed)
    for start in range(0, len(uuids), CHUNK):
        chunk = uuids[start:start + CHUNK]
        mappings = {m.instance_uuid: m for m in
                    objects.InstanceMappingList.get_by_instance_uuids(
                        ctx, chunk)}
        by_cell = {}
        for uuid in chunk:
            m = mappings.get(uuid)
            if m is None:
                gone[uuid] = 'deleted (no instance mapping)'
            elif m.queued_for_delete:
                gone[uuid] = 'deleted'
            elif m.cell_mapping is not None:
                by_cell.setdefault(m.cell_mapping.uuid,
                                   (m.cell_mapping, []))[1].append(uuid)
        for cell, cell_uuids in by_cell.values():
            with nova_context.target_cell(ctx, cell) as cctxt:
                found = {i.uuid: i for i in
                         objects.InstanceList.get_by_filters(
                             cctxt, {'uuid': cell_uuids},
                             expected_attrs=[])}
            for uuid in cell_uuids:
                why = _why_gone(found.get(uuid), placed[uuid])
                if why is not None:
                    gone[uuid] = why
    return gone


def _why_gone(instance, host):
    if instance is None or instance.deleted or \
            instance.vm_state in GONE_STATES:
        return 'deleted'
    if instance.vm_state == vm_states.ERROR:
        return 'failed'
    if instance.host and instance.host != host:
        return 'on host %s' % instance.host
    return None


class HeldCheck(object):
    """The background check of ``hoststate.Placements``.

    ``forget_host(host)`` drops what was derived for a host whose
    placements changed. ``interval`` 0 turns the check off.
    """

    def __init__(self, placements, forget_host, interval):
        self._placements = placements
        self._forget_host = forget_host
        self._interval = float(interval)
        self._running = False
        self._closed = False
        self._logged = -1e18
        self._ctx = None
        # Checks done, also those the database failed.
        self.checks = 0

    def start(self):
        """Run the check while placements are held (returns at once)."""
        if self._interval > 0 and not self._running and not self._closed:
            self._running = True
            eventlet.spawn_n(self._run)

    def close(self):
        """Stop checking (this configuration is replaced)."""
        self._closed = True

    def _run(self):
        try:
            while not self._closed and len(self._placements):
                eventlet.sleep(self._interval)
                if not self._closed:
                    self.check()
        finally:
            self._running = False

    def check(self):
        """Check the placements held for at least the interval; drop those
        whose instances are gone, failed or elsewhere."""
        started = time.monotonic()
        held = self._placements.held(started - self._interval)
        if not held:
            return
        if self._ctx is None:
            self._ctx = nova_context.get_admin_context(read_deleted='yes')
        try:
            gone = instances_gone(self._ctx,
                                  {uuid: host for uuid, host, _w in held})
        except Exception as e:  # the database may be down for a while
            gone = {}
            if time.monotonic() - self._logged >= LOG_INTERVAL:
                self._logged = time.monotonic()
                LOG.warning('libplacement: cannot check %(n)d instances '
                            'this scheduler placed against Nova\'s database '
                            '(%(err)s); each counts on its host until the '
                            'host lists it or [libplacement] scheduled_hold '
                            'passes', {'n': len(held), 'err': e})
        self._drop(held, gone)
        self.checks += 1

    def _drop(self, held, gone):
        dropped = {}
        for uuid, host, when in held:
            why = gone.get(uuid)
            if why is not None and self._placements.drop(uuid, host, when):
                LOG.debug('libplacement: instance %(uuid)s no longer counts '
                          'on host %(host)s: %(why)s',
                          {'uuid': uuid, 'host': host, 'why': why})
                dropped[host] = dropped.get(host, 0) + 1
        for host in dropped:
            self._forget_host(host)
        if dropped:
            LOG.info('libplacement: %(n)d instances this scheduler placed '
                     'no longer count on their hosts (deleted, failed or '
                     'moved before their hosts listed them): %(hosts)s',
                     {'n': sum(dropped.values()),
                      'hosts': ', '.join('%s %d' % hd for hd in
                                         sorted(dropped.items()))})
