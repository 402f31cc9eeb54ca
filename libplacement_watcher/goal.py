"""The goal ``parallelism_cap``: no compute node runs more parallel demand
than its hardware threads allow.

A node is over its cap when its demand (runnable threads: measured by its
libplacement agent, else declared by its instances' flavors) exceeds
``threads x max_parallel_ratio``. The goal differs from Watcher's
``workload_balancing``, whose efficacy is a spread of some metric across
nodes and which would move work between nodes that are all within their
caps; here a node within its cap is left alone however busy it is, and
success is counted in nodes over their cap before and after the plan.

Efficacy indicators (every action plan shows them):

=========================== ===================================================
``audited_nodes_count``     compute nodes the plan judged
``hosts_over_cap_before``   of them, over their cap now
``hosts_over_cap_after``    over their cap once the plan has run
``instance_migrations_count`` live migrations in the plan
``runtime_switches_count``  runtime switches (rebuilds) in the plan
=========================== ===================================================

Global efficacy: ``hosts_within_cap_ratio`` (nodes within their cap after
the plan, % of the audited nodes) and, when some node is over its cap,
``relieved_hosts_ratio`` (% of those brought within it).
"""

from watcher.decision_engine.goal import base
from watcher.decision_engine.goal.efficacy import base as efficacy_base
from watcher.decision_engine.goal.efficacy import indicators
from watcher.decision_engine.solution import efficacy


class _Count(indicators.IndicatorSpecification):
    """A required count (integer >= 0)."""

    NAME = None
    DESCRIPTION = None

    def __init__(self):
        super().__init__(name=self.NAME, description=self.DESCRIPTION,
                         unit=None, required=True)

    @property
    def schema(self):
        return {'type': 'integer', 'minimum': 0}


class AuditedNodesCount(_Count):
    NAME = 'audited_nodes_count'
    DESCRIPTION = 'The number of compute nodes the plan judged.'


class HostsOverCapBefore(_Count):
    NAME = 'hosts_over_cap_before'
    DESCRIPTION = ('The number of compute nodes whose parallel demand '
                   'exceeds threads x max_parallel_ratio before the plan.')


class HostsOverCapAfter(_Count):
    NAME = 'hosts_over_cap_after'
    DESCRIPTION = ('The number of compute nodes still over threads x '
                   'max_parallel_ratio once the plan has run.')


class RuntimeSwitchesCount(_Count):
    NAME = 'runtime_switches_count'
    DESCRIPTION = ('The number of instances the plan rebuilds into an image '
                   'for the runtime their workload class prefers.')


class ParallelismCapSpecification(efficacy_base.EfficacySpecification):
    """Indicators and global efficacy of the goal parallelism_cap."""

    def get_indicators_specifications(self):
        return [AuditedNodesCount(), HostsOverCapBefore(), HostsOverCapAfter(),
                indicators.InstanceMigrationsCount(), RuntimeSwitchesCount()]

    def get_global_efficacy_indicator(self, indicators_map=None):
        nodes = indicators_map.audited_nodes_count if indicators_map else 0
        before = indicators_map.hosts_over_cap_before if indicators_map else 0
        after = indicators_map.hosts_over_cap_after if indicators_map else 0
        within = 100.0 * (nodes - after) / nodes if nodes else 100.0
        out = [efficacy.Indicator(
            name='hosts_within_cap_ratio',
            description='Compute nodes within their parallelism cap once '
                        'the plan has run, as a share of the audited nodes.',
            unit='%', value=within)]
        if before:
            out.append(efficacy.Indicator(
                name='relieved_hosts_ratio',
                description='Compute nodes over their parallelism cap that '
                            'the plan brings within it, as a share of those '
                            'over it.',
                unit='%', value=100.0 * (before - after) / before))
        return out


class ParallelismCap(base.Goal):
    """Keep every compute node within its parallelism cap."""

    @classmethod
    def get_name(cls):
        return 'parallelism_cap'

    @classmethod
    def get_display_name(cls):
        return 'Parallelism cap'

    @classmethod
    def get_translatable_display_name(cls):
        return 'Parallelism cap'

    @classmethod
    def get_efficacy_specification(cls):
        return ParallelismCapSpecification()
