"""What make demo does in its in-process clouds, as plain results.

1. and 2. **Placement** (``place``): the research's two workloads booted
   one by one through the Nova API on a fresh cloud, with the plugin and
   with stock Nova: per host the servers, the threads of parallel work they
   want (the core's demand of the cluster as the scheduler sees it), the
   runtimes; for every refused server the library's one-line summary of
   why no host could take it.

3. **The loop** (``loop``): the plugin places four batch servers and a web
   shop of four; then the shop's agent measures its servers busier than
   declared and one host goes over its cap. The rebalancing planner
   (``Context.rebalance``, docs/rebalance.md) plans on the cluster as the
   scheduler sees it (the agents' snapshots it fetched, its flavors and
   groups), the moves are executed as live migrations through the Nova
   API, and the planner, asked again, finds every host within its cap.

Results are dicts of names and numbers in a fixed order (no UUIDs, no
times), for demo.report.
"""

import time

# First: demo.cloud imports Nova's test fixtures, which monkey-patch the
# standard library before anything else imports it.
from demo import cloud as democloud

from agent_fixture import snapshot, workload  # noqa: E402  (tests/nova)
from nova_filter import engine  # noqa: E402

# short: the scenario's name in the report; colocated: the plugin keeps its
# group on one host (net class), rather than spreading it (cpu class).
SPARK = {
    'short': 'Spark pi', 'group': 'spark-pi', 'colocated': False,
    'title': 'Spark pi: 17 Monte-Carlo workers (cpu class, 2 vCPUs = 2 '
             'threads each, group spark-pi)',
    'flavor': {'name': 'spark', 'vcpus': 2, 'workload': 'cpu',
               'parallelism': 2},
    'names': ['spark-%02d' % i for i in range(1, 18)],
}
TOMCAT = {
    'short': 'Tomcat', 'group': 'tomcat', 'colocated': True,
    'title': 'Tomcat: 6 communicating web servers (net class, 2 vCPUs, '
             'group tomcat)',
    'flavor': {'name': 'tomcat', 'vcpus': 2, 'workload': 'net'},
    'names': ['tomcat-%d' % i for i in range(1, 7)],
}
PLACEMENTS = (SPARK, TOMCAT)

# The loop: flavors, servers and what the agents measure of them.
LOOP_BATCH = {'name': 'batch', 'vcpus': 2, 'workload': 'cpu'}
LOOP_SHOP = {'name': 'shop', 'vcpus': 2, 'workload': 'net'}
LOOP_GROUP = 'shop'
# Measured demand (threads kept busy), agent class and runtime.
LOOP_MEASURED = {'batch': (1.9, 'cpu', 'unikernel'),
                 'shop': (1.75, 'net', 'container')}
LOOP_SERVERS = 4


def _flavor(cloud, spec):
    return cloud.flavor(spec['name'], spec['vcpus'], spec['workload'],
                        spec.get('parallelism'))


def _hosts(docs, runtimes=True):
    """Per host: threads, servers, threads wanted (the core's demand) and
    the runtimes of its servers."""
    loads = democloud.cluster_of(docs).loads()
    out = []
    for doc, load in zip(docs, loads):
        row = {'host': doc['host'], 'threads': int(load[0]),
               'servers': len(doc['workloads']),
               'wanted': round(float(load[1]), 2)}
        if runtimes:
            counts = {}
            for w in doc['workloads']:
                counts[w['runtime']] = counts.get(w['runtime'], 0) + 1
            row['runtimes'] = dict(sorted(counts.items()))
        out.append(row)
    return out


def _refusal(cloud, scenario, name):
    """The library's summary of why no host takes server name now."""
    spec = scenario['flavor']
    request = {'id': name, 'vcpus': float(spec['vcpus']),
               'workload': spec['workload'], 'group': scenario['group']}
    if spec.get('parallelism'):
        request['parallelism'] = float(spec['parallelism'])
    placed, = engine.engine().ctx.place(
        democloud.cluster_of(cloud.host_docs()), [request],
        keep_verdicts=True)
    return placed['explain']


def place(scenario, plugin):
    """Boot the scenario's servers one by one on a fresh cloud.

    {'hosts': [per host], 'refused': [{'server', 'why'}]}; why is the
    library's summary with the plugin, Nova's fault message without.
    """
    def body(cloud):
        flavor = _flavor(cloud, scenario['flavor'])
        refused = []
        for name in scenario['names']:
            server = cloud.boot(name, flavor, scenario['group'])
            if server['status'] != 'ACTIVE':
                why = (_refusal(cloud, scenario, name) if plugin else
                       server.get('fault', {}).get('message', 'ERROR'))
                refused.append({'server': name, 'why': why})
        return {'hosts': _hosts(cloud.host_docs()), 'refused': refused}

    return democloud.run_cloud(body, plugin=plugin)


def _serve_measured(cloud, measured):
    """Every host's agent reports the servers Nova runs there, as measured
    (LOOP_MEASURED by flavor; measured=False: nothing runs yet)."""
    on_host = {h: [] for h in democloud.HOSTS}
    for s in cloud.servers().values():
        if measured and s['status'] == 'ACTIVE':
            demand, klass, runtime = LOOP_MEASURED[
                s['flavor']['original_name']]
            on_host[s['OS-EXT-SRV-ATTR:host']].append(workload(
                s['id'], demand, s['flavor']['vcpus'], klass,
                runtime=runtime, vcpus=s['flavor']['vcpus']))
    for host, workloads in on_host.items():
        cloud.agent_farm.serve(host, snapshot(host, workloads))


def _measured(cloud):
    """The agents report what runs now; the snapshots the scheduler holds
    once it has fetched them."""
    _serve_measured(cloud, True)
    # Agents stamp whole seconds: answers of the next second on are new.
    return cloud.scheduler_snapshots(int(time.time()) + 1)


def _plan(rebalance):
    return {
        'moves': [{k: m[k] for k in ('workload', 'source', 'destination',
                                      'explain')}
                  for m in rebalance['moves']],
        'optimal': rebalance['optimal'],
        'hosts_over_before': rebalance['hosts_over_before'],
        'hosts_over_after': rebalance['hosts_over_after'],
        'why': [h['why'] for h in rebalance['hosts'] if h['why']],
    }


def loop():
    """The loop on a fresh cloud with the plugin and agents (see the module
    docstring)."""
    def body(cloud):
        _serve_measured(cloud, False)
        batch = _flavor(cloud, LOOP_BATCH)
        shop = _flavor(cloud, LOOP_SHOP)
        for i in range(1, LOOP_SERVERS + 1):
            cloud.boot('batch-%d' % i, batch)
        for i in range(1, LOOP_SERVERS + 1):
            cloud.boot('shop-%d' % i, shop, LOOP_GROUP)
        servers = cloud.servers()
        booted = {n: s['OS-EXT-SRV-ATTR:host'] for n, s in
                  sorted(servers.items())}
        declared = _hosts(cloud.host_docs(), runtimes=False)

        docs = cloud.host_docs(_measured(cloud))
        measured = _hosts(docs, runtimes=False)
        ctx = engine.engine().ctx
        plan = _plan(ctx.rebalance(democloud.cluster_of(docs)))

        migrations = []
        for move in plan['moves']:
            record = cloud.live_migrate(servers[move['workload']],
                                        move['destination'])
            server = cloud.api.get_server(servers[move['workload']]['id'])
            migrations.append({
                'server': move['workload'], 'source': record['source_compute'],
                'destination': record['dest_compute'],
                'type': record['migration_type'], 'status': record['status'],
                'state': server['status'],
                'host': server['OS-EXT-SRV-ATTR:host']})

        docs = cloud.host_docs(_measured(cloud))
        again = _plan(ctx.rebalance(democloud.cluster_of(docs)))
        return {'booted': booted, 'declared': declared, 'measured': measured,
                'agents': {name: m[0] for name, m in LOOP_MEASURED.items()},
                'plan': plan, 'migrations': migrations,
                'after': _hosts(docs, runtimes=False), 'again': again}

    return democloud.run_cloud(body, plugin=True, agents=True)
