"""The Watcher strategy ``libplacement_rebalance`` (goal ``parallelism_cap``).

It relieves compute nodes whose parallel demand exceeds ``threads x
max_parallel_ratio`` with the fewest live migrations, as libplacement's
rebalancing planner decides them (docs/watcher.md):

* only instances on nodes over their cap (by more than ``overload_margin``)
  move, each at most once, straight to a node that stays within its cap and
  has the memory (Placement's capacity) for it;
* the net and io class members of a group on one node move together, the
  cpu class members of a group stay on different nodes;
* an instance Watcher moved or switched within ``cooldown`` seconds stays;
* locked, inactive and scope-excluded instances stay; disabled and down
  nodes only give.

The plan's moves become ``migrate`` actions (live, with source and
destination node), in the planner's order. Instances whose workload class
has been measured confidently for long enough and prefers another runtime
than the one they run in are rebuilt into their image's sibling for that
runtime (``libplacement_runtime_switch``, image property
``libplacement_variants``) when there is one. Whatever the plan cannot do —
a node that stays over its cap, a switch without a sibling — is said in a
``nop`` action of the plan, so an operator reads it with the action plan.

Input: Watcher's compute model (nodes' vCPUs and memory, instances'
flavors, state and metadata), the flavors' ``libplacement:*`` extra specs
and the servers' images from Nova, and — with ``[libplacement] agent_url``
— the nodes' measured snapshots from their libplacement agents.
"""

import time

from oslo_config import cfg
from oslo_log import log as logging

from libplacement_oslo import opts as common_opts
from libplacement_watcher import actions
from libplacement_watcher import agents
from libplacement_watcher import cluster
from libplacement_watcher import history
from libplacement_watcher import opts
from libplacement_watcher import variants
from watcher.decision_engine.loading import default as loading
from watcher.decision_engine.strategy.strategies import base

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
opts.register_opts(CONF)

NOP = 'nop'


class PlanError(Exception):
    """The planner's answer does not fit Watcher's model."""


class LibplacementRebalance(base.BaseStrategy):
    """Fewest live migrations that bring every node within its parallelism cap.

    Audit parameters (all optional): ``max_parallel_ratio``,
    ``overload_margin``, ``max_moves``, ``cooldown``, ``runtime_switches``,
    ``switch_confidence``, ``switch_min_age``, ``search_budget`` (see
    get_schema). Options: ``[libplacement]`` in watcher.conf.
    """

    DATASOURCE_METRICS = []

    def __init__(self, config, osc=None):
        super().__init__(config, osc)
        self._plan = None
        self._view = None
        self._switches = 0

    @classmethod
    def get_name(cls):
        return 'libplacement_rebalance'

    @classmethod
    def get_display_name(cls):
        return 'Parallelism rebalancing (libplacement)'

    @classmethod
    def get_translatable_display_name(cls):
        return 'Parallelism rebalancing (libplacement)'

    @classmethod
    def get_goal_name(cls):
        return 'parallelism_cap'

    @classmethod
    def get_config_opts(cls):
        # No datasource: demand is declared or measured by the agents.
        return []

    @classmethod
    def get_schema(cls):
        return {
            'properties': {
                'max_parallel_ratio': {
                    'description': 'A node\'s cap is its threads x this. '
                                   'Default: [libplacement] '
                                   'max_parallel_ratio of watcher.conf (keep '
                                   'it equal to nova.conf\'s).',
                    'type': 'number', 'minimum': 0, 'exclusiveMinimum': True,
                    'maximum': 16,
                },
                'overload_margin': {
                    'description': 'Act on a node only when its demand '
                                   'exceeds its cap x (1 + this).',
                    'type': 'number', 'minimum': 0, 'maximum': 1,
                    'default': 0.05,
                },
                'max_moves': {
                    'description': 'At most this many live migrations; 0 = '
                                   'as many as needed.',
                    'type': 'integer', 'minimum': 0, 'default': 0,
                },
                'cooldown': {
                    'description': 'Seconds an instance Watcher moved or '
                                   'switched is left alone.',
                    'type': 'number', 'minimum': 0, 'default': 3600,
                },
                'runtime_switches': {
                    'description': 'Rebuild instances into their image\'s '
                                   'sibling for the runtime their class '
                                   'prefers (image property '
                                   'libplacement_variants).',
                    'type': 'boolean', 'default': True,
                },
                'switch_confidence': {
                    'description': 'Class confidence a switch needs.',
                    'type': 'number', 'minimum': 0, 'maximum': 1,
                    'default': 0.8,
                },
                'switch_min_age': {
                    'description': 'Seconds the measured class must have '
                                   'held before a switch.',
                    'type': 'number', 'minimum': 0, 'default': 1800,
                },
                'search_budget': {
                    'description': 'Nodes of exact search after the greedy '
                                   'plan; 0 = greedy only.',
                    'type': 'integer', 'minimum': 0, 'default': 200000,
                },
            },
        }

    def _param(self, name):
        value = self.input_parameters.get(name)
        if value is None:
            value = self.get_schema()['properties'][name].get('default')
        return value

    # -- inputs -----------------------------------------------------------
    def _context(self):
        group = CONF.libplacement
        ctx = common_opts.context_from_options(group)
        ratio = self.input_parameters.get('max_parallel_ratio')
        if ratio is not None:
            ctx.set('max_parallel_ratio', float(ratio))
        return ctx

    def _servers(self):
        """{uuid: (flavor extra specs, image id)} of every server in Nova.

        None when Nova cannot be read: the flavors' classes are then
        unknown (logged) and no runtime switch is possible.
        """
        try:
            servers = self.osc.nova().servers.list(
                search_opts={'all_tenants': True}, limit=-1)
        except Exception as e:
            LOG.warning('libplacement: cannot list the servers in Nova (%s); '
                        'counting every instance with [libplacement] '
                        'default_workload and its vCPUs, and recommending no '
                        'runtime switch', e)
            return None
        out = {}
        for s in servers:
            flavor = getattr(s, 'flavor', None) or {}
            image = getattr(s, 'image', None)
            out[s.id] = (flavor.get('extra_specs') or {},
                         image.get('id') if isinstance(image, dict) else None)
        return out

    def _reservations(self, servers):
        default = CONF.libplacement.default_workload

        def reservation(instance):
            specs = servers.get(instance.uuid, ({}, None))[0] if servers \
                else {}
            return cluster.flavor_reservation(instance.uuid, specs, default)
        return reservation

    def _planner_knows(self, action_type):
        """None if the audit's planner can schedule action_type, else why."""
        planner = loading.DefaultPlannerLoader().load(self.planner)
        for option in ('weights', 'parallelization'):
            table = planner.config.get(option)
            if table is not None and action_type not in table:
                return ('[watcher_planners.%s] %s has no entry for %s'
                        % (self.planner, option, action_type))
        return None

    # -- the strategy -----------------------------------------------------
    def pre_execute(self):
        self._pre_execute()

    def do_execute(self, audit=None):
        import libplacement as lp

        model = self.compute_model
        ctx = self._context()
        servers = self._servers()
        hostnames = sorted(n.hostname
                           for n in model.get_all_compute_nodes().values())
        snapshots = agents.fetch(lp, CONF.libplacement, hostnames)
        view = cluster.build(model, self._reservations(servers), snapshots)
        now = time.time()
        cooldown = float(self._param('cooldown'))
        recent = history.recent_actions(
            self.ctx, (self.MIGRATION, actions.RuntimeSwitch.NAME), now,
            cooldown)
        plan = ctx.rebalance(
            lp.Cluster.from_json(view.to_json(), origin='compute model'),
            now=now, history=recent, pinned=sorted(view.pinned),
            overload_margin=float(self._param('overload_margin')),
            max_moves=int(self._param('max_moves')), cooldown_s=cooldown,
            switch_confidence=float(self._param('switch_confidence')),
            switch_min_age_s=float(self._param('switch_min_age')),
            search_budget=int(self._param('search_budget')))
        LOG.info('libplacement: %d of %d compute nodes over their cap (%d '
                 'measured by agents); plan: %d live migrations, %d runtime '
                 'switch recommendations, %d nodes over their cap after it%s',
                 plan['hosts_over_before'], len(view.hosts),
                 sum(1 for s in view.sources.values() if s == 'measured'),
                 len(plan['moves']), len(plan['switches']),
                 plan['hosts_over_after'],
                 '' if plan['optimal'] else ' (not proven optimal)')
        self._plan, self._view = plan, view
        self._add_moves(model, plan, view)
        self._add_switches(plan, view, servers)
        self._explain_hosts(plan, view)

    def _add_moves(self, model, plan, view):
        nodes = {n.hostname: n
                 for n in model.get_all_compute_nodes().values()}
        for move in plan['moves']:
            uuid = move['workload']
            instance, source = view.instances.get(uuid, (None, None))
            destination = nodes.get(move['destination'])
            if instance is None or uuid in view.pinned or destination is None \
                    or source.hostname != move['source']:
                raise PlanError(
                    'the planner moved %s from %s to %s, which is not a '
                    'movable instance of that node in the compute model'
                    % (uuid, move['source'], move['destination']))
            LOG.info('libplacement: live-migrate %s (%s): %s', uuid,
                     instance.name, move['explain'])
            self.add_action_migrate(instance, 'live', source, destination)
            model.migrate_instance(instance, source, destination)

    def _add_switches(self, plan, view, servers):
        if not plan['switches']:
            return
        why_not = None
        if not self._param('runtime_switches'):
            why_not = 'runtime switches are off (audit parameter ' \
                      'runtime_switches)'
        elif servers is None:
            why_not = 'Nova cannot be read'
        else:
            why_not = self._planner_knows(actions.RuntimeSwitch.NAME)
        finder = None
        if why_not is None:
            finder = variants.SiblingFinder(
                self.osc.glance(), {u: s[1] for u, s in servers.items()})
        for switch in plan['switches']:
            uuid = switch['workload']
            instance = view.instances.get(uuid, (None, None))[0]
            what = ('libplacement: %s (%s) is class %s (confidence %.2f for '
                    '%.0f s) and would run better in a %s than in a %s'
                    % (uuid, instance.name if instance else 'not an instance',
                       switch['class'], switch['confidence'],
                       switch['held_s'], switch['to'], switch['from']))
            why = why_not
            image = sibling = None
            if why is None and instance is None:
                why = 'it is not an instance in the compute model'
            if why is None:
                image, sibling, why = finder.find(uuid, switch['to'])
            if why is not None:
                self._note('%s; no switch: %s' % (what, why))
                continue
            LOG.info('%s: rebuilding it into image %s', what, sibling)
            self.solution.add_action(
                action_type=actions.RuntimeSwitch.NAME, resource_id=uuid,
                input_parameters={
                    'resource_name': instance.name,
                    'from_runtime': switch['from'],
                    'to_runtime': switch['to'],
                    'image': sibling, 'original_image': image})
            self._switches += 1

    def _explain_hosts(self, plan, view):
        pinned_on = {}
        for uuid in view.pinned:
            node = view.instances.get(uuid, (None, None))[1]
            if node is not None:
                pinned_on[node.hostname] = pinned_on.get(node.hostname, 0) + 1
        for host in plan['hosts']:
            if not host['why']:
                continue
            extra = ''
            if pinned_on.get(host['host']):
                extra = ('; pinned: locked, not active or excluded by the '
                         'audit scope')
            self._note('libplacement: %s stays over its cap: demand %.2f > '
                       'cap %.2f after the plan: %s%s'
                       % (host['host'], host['demand_after'],
                          host['capacity'], host['why'], extra))
        for hostname, why in sorted(view.skipped.items()):
            self._note('libplacement: compute node %s is left out of the '
                       'plan: it %s' % (hostname, why))

    def _note(self, message):
        LOG.warning(message)
        self.solution.add_action(action_type=NOP,
                                 input_parameters={'message': message})

    def post_execute(self):
        plan, view = self._plan, self._view
        self.solution.set_efficacy_indicators(
            audited_nodes_count=len(view.hosts),
            hosts_over_cap_before=int(plan['hosts_over_before']),
            hosts_over_cap_after=int(plan['hosts_over_after']),
            instance_migrations_count=len(plan['moves']),
            runtime_switches_count=self._switches)
