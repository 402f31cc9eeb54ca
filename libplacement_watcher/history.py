"""Cool-down history from Watcher's own action records.

A workload that Watcher moved or switched recently is left alone for the
audit's ``cooldown`` seconds, so that two audits in a row do not move the
same instance back and forth. The history is read from Watcher's database:
every ``migrate`` and ``libplacement_runtime_switch`` action that succeeded
within the window counts from its last update, one still running counts
as now. Moves made outside Watcher (an operator, Nova's own evacuations)
are not in that record and do not start a cool-down.
"""

import calendar
import datetime

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

SUCCEEDED = 'SUCCEEDED'
ONGOING = 'ONGOING'


def _unix(when):
    if when.tzinfo is not None:
        return when.timestamp()
    return float(calendar.timegm(when.timetuple())) + when.microsecond / 1e6


def recent_actions(context, action_types, now, window_s):
    """{resource id: unix time of its last action} within window_s of now.

    Never raises: when the database cannot be read the history is empty and
    the reason is logged (recently moved instances may then move again).
    """
    if window_s <= 0:
        return {}
    try:
        from watcher.objects import action as action_objects
        since = datetime.datetime.utcfromtimestamp(now - window_s)
        actions = action_objects.Action.list(
            context, filters={'state__in': (SUCCEEDED, ONGOING),
                              'updated_at__gte': since})
    except Exception as e:
        LOG.warning('libplacement: cannot read Watcher\'s action history '
                    '(%s); no cool-down applies in this audit, so instances '
                    'moved recently may move again', e)
        return {}
    history = {}
    for a in actions:
        if a.action_type not in action_types:
            continue
        resource = (a.input_parameters or {}).get('resource_id')
        if not resource:
            continue
        when = now if a.state == ONGOING else _unix(a.updated_at)
        history[resource] = max(when, history.get(resource, 0.0))
    return history
