"""The cluster as the rebalancing planner sees it, from the real cloud.

Per host: its agent's snapshot (threads, measured load, every workload it
measures), and on it Nova's instances as the scheduler plugin counts them
(docs/nova.md, *Demand*): each instance is the workload of its UUID, with
its flavor's class (``libplacement:workload``) and parallelism (vCPUs
unless ``libplacement:parallelism``), the agent's measurements where the
snapshot lists it. The planner (``Context.rebalance``, docs/rebalance.md)
then proposes live migrations back within every cap.
"""

import json
import time

import libplacement as lp

from lpe2e import user as user_mod


def instance_workload(server, measured, groups):
    specs = server.flavor.get('extra_specs') or {}
    vcpus = float(server.flavor['vcpus'])
    parallelism = float(specs.get('libplacement:parallelism') or vcpus)
    workload = dict(measured or {}, id=server.id, runtime='vm',
                    vcpus=parallelism)
    klass = specs.get('libplacement:workload')
    if klass and klass != 'auto':
        workload['class'] = klass
    if groups.get(server.id):
        workload['group'] = groups[server.id]
    return workload


def cluster_document(servers, snapshots, groups=None):
    """{'hosts': [...]}: snapshots {host: snapshot} with Nova's ACTIVE
    servers on their hosts; groups {server id: libplacement_group}."""
    groups = groups or {}
    on_host = {}
    for s in servers:
        if s.status == 'ACTIVE':
            on_host.setdefault(user_mod.host_of(s), []).append(s)
    hosts = []
    for name in sorted(snapshots):
        snap = snapshots[name]
        mine = {s.id: s for s in on_host.get(name, [])}
        measured = {w['id']: w for w in snap.get('workloads') or ()}
        workloads = [w for wid, w in measured.items() if wid not in mine]
        workloads += [instance_workload(s, measured.get(s.id), groups)
                      for s in mine.values()]
        hosts.append(dict(snap, host=name, workloads=workloads))
    return {'hosts': hosts}


def plan(document, instance_ids):
    """The planner's plan (docs/rebalance.md, JSON decoded). Only Nova's
    instances (instance_ids) can be live-migrated: every other workload is
    kept in place by a history entry in the future (in cool-down), as the
    Watcher strategy does."""
    cluster = lp.Cluster.from_json(json.dumps(document), origin='e2e cloud')
    now = time.time()
    pinned = {w['id']: now + 1 for h in document['hosts']
              for w in h['workloads'] if w['id'] not in instance_ids}
    result = lp.Context().rebalance(cluster, now=now, history=pinned)
    return json.loads(result) if isinstance(result, (str, bytes)) else result
