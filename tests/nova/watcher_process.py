"""Watcher's decision engine and applier, run in a process of their own by
tests/nova/test_watcher_execution.py against its in-process Nova.

Watcher and Nova both register ``[DEFAULT] host`` on oslo.config's global
configuration, so they cannot share a process; in a deployment they never
do. This process is what watcher-decision-engine and watcher-applier do for
one audit, without their RPC services: Watcher's compute model collector
reads Nova and Placement over HTTP, the audit handler runs the strategy and
the planner and stores the action plan in Watcher's database (SQLite), and
the applier's workflow engine (taskflow) runs the actions, which drive Nova
through novaclient.

Usage (writes one JSON document to OUT; logs go to stderr)::

    watcher_process.py CONF OUT audit PARAMETERS_JSON [--apply]
    watcher_process.py CONF OUT action TYPE PARAMETERS_JSON STEP[,STEP...]

``audit`` creates a one-shot audit of the goal parallelism_cap with the
strategy libplacement_rebalance and prints the audit, its action plan, the
actions and the efficacy indicators; with ``--apply`` the action plan is
then executed by Watcher's applier and printed again. ``action`` loads one
action plugin as the applier does and runs the given steps
(pre_condition, execute, post_condition, revert), printing each one's
result or error.
"""

import watcher.cmd  # noqa: F401  (eventlet, as in Watcher's services)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

GOAL = 'parallelism_cap'
STRATEGY = 'libplacement_rebalance'


def _setup(conf_file):
    from watcher.common import context
    from watcher.common import service
    from watcher.db.sqlalchemy import migration
    from watcher.decision_engine import sync

    # Watcher's plugin loaders parse the command line again (as
    # watcher-decision-engine's): it must be that of a Watcher service.
    sys.argv[:] = ['watcher-process', '--config-file', conf_file]
    service.prepare_service(sys.argv, cfg.CONF)
    if migration.version() is None:
        # What watcher-db-manage create_schema does before the services
        # start. Alembic's logging.config.fileConfig replaces the logging
        # set up above: set it up again.
        migration.create_schema()
        for logger in logging.Logger.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.disabled = False
        log.setup(cfg.CONF, 'python-watcher')
    sync.Syncer().sync()
    return context.make_context(is_admin=True)


def _plan_document(ctx, audit_uuid):
    from watcher import objects

    audit = objects.Audit.get_by_uuid(ctx, audit_uuid)
    out = {'audit': {'uuid': audit.uuid, 'state': audit.state},
           'action_plan': None, 'actions': [], 'efficacy_indicators': {}}
    plans = objects.ActionPlan.list(ctx, filters={'audit_uuid': audit.uuid})
    if not plans:
        return out
    plan = plans[0]
    out['action_plan'] = {'uuid': plan.uuid, 'state': plan.state,
                          'global_efficacy': plan.global_efficacy}
    for a in objects.Action.list(ctx, filters={'action_plan_uuid': plan.uuid}):
        out['actions'].append({'uuid': a.uuid, 'action_type': a.action_type,
                               'input_parameters': a.input_parameters,
                               'state': a.state, 'parents': a.parents})
    for i in objects.EfficacyIndicator.list(
            ctx, filters={'action_plan_uuid': plan.uuid}):
        out['efficacy_indicators'][i.name] = float(i.value)
    return out


def audit(ctx, parameters, apply):
    """One-shot audit (dry run); with apply, its action plan executed."""
    from watcher.applier.action_plan import default as plan_handler
    from watcher.common import utils
    from watcher.decision_engine.audit import oneshot
    from watcher.decision_engine.loading import default as loading
    from watcher import objects

    strategy = objects.Strategy.get_by_name(ctx, STRATEGY)
    goal = objects.Goal.get_by_name(ctx, GOAL)
    # As Watcher's API does when the audit is created.
    utils.StrictDefaultValidatingDraft4Validator(
        loading.DefaultStrategyLoader().load(STRATEGY).get_schema()
    ).validate(parameters)
    record = objects.Audit(
        ctx, uuid=uuidutils.generate_uuid(),
        name='libplacement-' + uuidutils.generate_uuid(),
        audit_type='ONESHOT', state='PENDING', goal_id=goal.id,
        strategy_id=strategy.id, parameters=parameters, scope=[],
        auto_trigger=False)
    record.create()
    oneshot.OneShotAuditHandler().execute(record, ctx)
    out = {'planned': _plan_document(ctx, record.uuid)}
    plan = out['planned']['action_plan']
    if apply and plan is not None:
        handler = plan_handler.DefaultActionPlanHandler(ctx, None,
                                                        plan['uuid'])
        handler.execute()
        out['applied'] = _plan_document(ctx, record.uuid)
    return out


def action(action_type, parameters, steps):
    """Run steps of one action plugin, as the applier's workflow does."""
    from watcher.applier.loading import default as loading

    plugin = loading.DefaultActionLoader().load(name=action_type)
    plugin.input_parameters = parameters
    plugin.validate_parameters()
    results = []
    for step in steps:
        try:
            results.append({'step': step, 'result': getattr(plugin, step)()})
        except Exception as e:
            results.append({'step': step, 'error': str(e),
                            'error_type': type(e).__name__})
    return results


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('conf')
    parser.add_argument('out')
    sub = parser.add_subparsers(dest='command', required=True)
    a = sub.add_parser('audit')
    a.add_argument('parameters')
    a.add_argument('--apply', action='store_true')
    b = sub.add_parser('action')
    b.add_argument('type')
    b.add_argument('parameters')
    b.add_argument('steps')
    args = parser.parse_args(argv)
    ctx = _setup(args.conf)
    if args.command == 'audit':
        out = audit(ctx, json.loads(args.parameters), args.apply)
    else:
        out = action(args.type, json.loads(args.parameters),
                     args.steps.split(','))
    with open(args.out, 'w') as f:
        json.dump(out, f, default=str)


if __name__ == '__main__':
    main(sys.argv[1:])
