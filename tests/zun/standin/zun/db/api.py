"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

Zun's database (zun/db/sqlalchemy/api.py Connection), in memory: the rows
of containers, compute_nodes, zun_service and registry that the objects
read and write.  Like the real one it is shared by every zun-api request,
scheduler and compute of the process, each read returns copies of the rows
as they are now, each write is one transaction (a lock), and list filters
take a value or a list of values (``_add_filters``: ``column IN (...)``).
"""

import copy
import threading
import uuid as uuid_lib

_LOCK = threading.Lock()
_TABLES = {'containers': {}, 'compute_nodes': {}, 'zun_service': {},
           'registry': {}}
_IDS = {'next': 1}


def reset():
    """Empty every table (between tests)."""
    with _LOCK:
        for table in _TABLES.values():
            table.clear()


def _matches(row, filters):
    for name, value in (filters or {}).items():
        if isinstance(value, list):
            if row.get(name) not in value:
                return False
        elif row.get(name) != value:
            return False
    return True


def _insert(table, key, values):
    with _LOCK:
        row = dict(copy.deepcopy(values), id=_IDS['next'])
        _IDS['next'] += 1
        _TABLES[table][row[key]] = row
        return copy.deepcopy(row)


def _update(table, key, values):
    with _LOCK:
        _TABLES[table][key].update(copy.deepcopy(values))
        return copy.deepcopy(_TABLES[table][key])


def _list(table, filters=None):
    with _LOCK:
        return [copy.deepcopy(row)
                for _key, row in sorted(_TABLES[table].items(),
                                        key=lambda kv: kv[1]['id'])
                if _matches(row, filters)]


def create_container(values):
    """Connection.create_container: a uuid is generated if none is given."""
    values = dict(values)
    if not values.get('uuid'):
        values['uuid'] = str(uuid_lib.uuid4())
    return _insert('containers', 'uuid', values)


def update_container(uuid, values):
    return _update('containers', uuid, values)


def list_containers(filters=None):
    return _list('containers', filters)


def create_compute_node(values):
    values = dict(values)
    if not values.get('uuid'):
        values['uuid'] = str(uuid_lib.uuid4())
    return _insert('compute_nodes', 'uuid', values)


def update_compute_node(uuid, values):
    return _update('compute_nodes', uuid, values)


def list_compute_nodes(filters=None):
    return _list('compute_nodes', filters)


def create_zun_service(values):
    return _insert('zun_service', 'host', values)


def list_zun_services(filters=None):
    return _list('zun_service', filters)


def create_registry(values):
    values = dict(values)
    if not values.get('uuid'):
        values['uuid'] = str(uuid_lib.uuid4())
    return _insert('registry', 'uuid', values)


def list_registries(filters=None):
    return _list('registry', filters)
