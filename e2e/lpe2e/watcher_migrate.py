"""Execute live migrations with Watcher's own ``migrate`` action.

``python3 -m lpe2e.watcher_migrate WATCHER_CONF MOVES_JSON OUT_JSON``

MOVES_JSON holds the planner's moves (``[{"workload": <server UUID>,
"source": host, "destination": host}, ...]``). Each is run as Watcher's
applier runs an action of a plan: the ``migrate`` plugin
(``watcher.applier.actions.migration.Migrate``) loaded through Watcher's
action loader with ``migration_type = live``, ``resource_id``,
``source_node`` and ``destination_node``; pre_condition, execute,
post_condition. The action drives Nova through Watcher's own clients
(``watcher.common.clients``: novaclient on a keystoneauth session from
``[watcher_clients_auth]``, here the ``admin_token`` plugin against the
run's nova-api) and waits, as Watcher does, until Nova reports the server on
its destination. OUT_JSON gets one result per move: ``{"workload",
"ok", "seconds", "error"}``.

A process of its own: Watcher and Nova both register options on
oslo.config's global configuration.
"""

import json
import sys
import time


def main(argv):
    conf_file, moves_file, out_file = argv
    from oslo_config import cfg
    from oslo_log import log
    from watcher.applier.loading import default as loading
    from watcher import conf as watcher_conf  # noqa: F401  (options)

    # Watcher's plugin loaders parse the command line again, as in its
    # services: it must be that of a Watcher service.
    sys.argv[:] = ['watcher-applier', '--config-file', conf_file]
    log.register_options(cfg.CONF)
    cfg.CONF(sys.argv[1:], project='watcher')
    log.setup(cfg.CONF, 'watcher')
    with open(moves_file) as f:
        moves = json.load(f)
    results = []
    for move in moves:
        action = loading.DefaultActionLoader().load(name='migrate')
        action.input_parameters = {
            'migration_type': 'live', 'resource_id': move['workload'],
            'source_node': move['source'],
            'destination_node': move['destination']}
        started = time.monotonic()
        result = {'workload': move['workload'], 'ok': False, 'error': None}
        try:
            action.validate_parameters()
            action.pre_condition()
            result['ok'] = bool(action.execute())
            action.post_condition()
        except Exception as e:  # reported, then the next move
            result['error'] = '%s: %s' % (type(e).__name__, e)
        result['seconds'] = time.monotonic() - started
        results.append(result)
    with open(out_file, 'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    main(sys.argv[1:])
