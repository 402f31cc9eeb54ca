"""Records in Watcher's database, made through Watcher's own objects."""

from oslo_utils import uuidutils

from watcher import objects


def action_plan(ctx, strategy_name='libplacement_rebalance'):
    """An audit of the strategy's goal and an action plan of it."""
    strategy = objects.Strategy.get_by_name(ctx, strategy_name)
    audit = objects.Audit(
        ctx, uuid=uuidutils.generate_uuid(),
        name='audit-' + uuidutils.generate_uuid(),
        audit_type='ONESHOT', state='SUCCEEDED', goal_id=strategy.goal_id,
        strategy_id=strategy.id, parameters={}, scope=[],
        auto_trigger=False)
    audit.create()
    plan = objects.ActionPlan(
        ctx, uuid=uuidutils.generate_uuid(), audit_id=audit.id,
        strategy_id=strategy.id, state='SUCCEEDED', global_efficacy=[])
    plan.create()
    return plan


def action(ctx, plan, action_type, resource_id, state):
    """An action of the plan on resource_id, now in state."""
    a = objects.Action(
        ctx, uuid=uuidutils.generate_uuid(), action_plan_id=plan.id,
        action_type=action_type, input_parameters={'resource_id': resource_id},
        state='PENDING', parents=[])
    a.create()
    a.state = state
    a.save()
    return a
