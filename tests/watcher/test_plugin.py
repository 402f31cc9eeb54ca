"""The plugin as Watcher finds it: entry points, options, parameters."""

import os
import subprocess
import sys

import jsonschema
import pytest

STRATEGY = 'libplacement_rebalance'
GOAL = 'parallelism_cap'
ACTION = 'libplacement_runtime_switch'


def test_loaders_list_and_load_the_plugins(watcher):
    from watcher.applier.loading import default as applier_loading
    from watcher.decision_engine.loading import default as loading

    from libplacement_watcher import actions
    from libplacement_watcher import goal
    from libplacement_watcher import strategy

    strategies = loading.DefaultStrategyLoader().list_available()
    assert strategies[STRATEGY] is strategy.LibplacementRebalance
    assert loading.DefaultGoalLoader().list_available()[GOAL] is \
        goal.ParallelismCap
    assert applier_loading.DefaultActionLoader().list_available()[ACTION] \
        is actions.RuntimeSwitch

    loaded = loading.DefaultStrategyLoader().load(STRATEGY)
    assert isinstance(loaded, strategy.LibplacementRebalance)
    assert loaded.goal.name == GOAL
    assert loaded.get_goal_name() == GOAL
    switch = applier_loading.DefaultActionLoader().load(ACTION)
    assert switch.config.rebuild_timeout == 600


def test_decision_engine_sync_registers_goal_and_strategy(watcher):
    # The conftest ran Watcher's Syncer, as the decision engine does when it
    # starts: the goal and the strategy are in Watcher's database, linked.
    from watcher import objects

    goal = objects.Goal.get_by_name(watcher, GOAL)
    assert goal.display_name == 'Parallelism cap'
    names = [s['name'] for s in goal.efficacy_specification]
    assert names == ['audited_nodes_count', 'hosts_over_cap_before',
                     'hosts_over_cap_after', 'instance_migrations_count',
                     'runtime_switches_count']
    strategy = objects.Strategy.get_by_name(watcher, STRATEGY)
    assert strategy.goal_id == goal.id
    assert strategy.parameters_spec['properties']['cooldown']['default'] \
        == 3600


def _validate(parameters):
    """Parameters as Watcher's API and decision engine check them."""
    from watcher.common import utils

    from libplacement_watcher import strategy

    params = dict(parameters)
    utils.StrictDefaultValidatingDraft4Validator(
        strategy.LibplacementRebalance.get_schema()).validate(params)
    return params


def test_parameters_take_defaults_and_refuse_bad_values(watcher):
    params = _validate({'max_moves': 3})
    assert params == {'max_moves': 3, 'overload_margin': 0.05,
                      'cooldown': 3600, 'runtime_switches': True,
                      'switch_confidence': 0.8, 'switch_min_age': 1800,
                      'search_budget': 200000}
    # The ratio has no default in the schema: watcher.conf gives it.
    assert 'max_parallel_ratio' not in params
    for bad in ({'max_parallel_ratio': 0}, {'max_parallel_ratio': 17},
                {'overload_margin': 1.5}, {'max_moves': -1},
                {'max_moves': 2.5}, {'switch_confidence': 2},
                {'cooldown': 'long'}):
        with pytest.raises(jsonschema.ValidationError):
            _validate(bad)
    from watcher.common import exception
    with pytest.raises(exception.AuditParameterNotAllowed):
        _validate({'no_such_parameter': 1})


def test_sample_config_lists_the_options():
    # oslo-config-generator finds the entry point in the egg-info that
    # `make python` writes next to the module (PYTHONPATH of the suite).
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable),
                      'oslo-config-generator'),
         '--namespace', 'libplacement.watcher'],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert '[libplacement]' in out
    for opt in ('max_parallel_ratio', 'default_workload', 'runtime_order',
                'policy', 'agent_url', 'agent_timeout', 'agent_ttl',
                'agent_token'):
        assert '\n#%s =' % opt in out
    assert '#fail_open' not in out
