"""Measured snapshots from the libplacement agents of the audited nodes.

With ``[libplacement] agent_url`` set, every compute node of the audit is
asked for its snapshot (``libplacement.Fetcher``: one libcurl-multi run for
all of them, each bounded by ``agent_timeout``). The run happens in a native
thread when the decision engine runs under eventlet, so other audits and
the service's green threads keep running. A node whose agent does not
answer with a valid snapshot is planned from its declared demand; the
reason is logged.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def _in_native_thread(call, *args):
    try:
        from eventlet import patcher
        from eventlet import tpool
    except ImportError:
        return call(*args)
    if patcher.is_monkey_patched('thread'):
        return tpool.execute(call, *args)
    return call(*args)


def fetch(lp, group, hostnames):
    """{hostname: snapshot dict} of the nodes whose agent answered.

    :param lp: the libplacement module.
    :param group: the registered ``[libplacement]`` option group.
    :param hostnames: the compute nodes' host names (Nova's names).
    """
    if not group.agent_url or not hostnames:
        return {}
    fetcher_type = getattr(lp, 'Fetcher', None)
    if fetcher_type is None:
        LOG.warning('libplacement: [libplacement] agent_url is set but this '
                    'build of the libplacement module has no Fetcher (built '
                    'without libcurl?); planning every node from its '
                    'declared demand')
        return {}
    fetcher = fetcher_type(url_template=group.agent_url,
                           timeout_ms=int(group.agent_timeout * 1000),
                           ttl_s=int(group.agent_ttl),
                           token=group.agent_token,
                           ca_file=group.agent_ca_file)
    fresh, errors = _in_native_thread(fetcher.fetch, list(hostnames))
    for host in sorted(errors):
        LOG.info('libplacement: no agent snapshot for compute node %s (%s); '
                 'using its declared demand', host, errors[host])
    return {h['host']: h for h in fresh.hosts()}
