"""libplacement for OpenStack Watcher: keep every compute host within its
parallelism cap with the fewest live migrations.

Entry points (setup.py):

* goal ``parallelism_cap`` (``watcher_goals``, libplacement_watcher.goal)
* strategy ``libplacement_rebalance`` (``watcher_strategies``,
  libplacement_watcher.strategy)
* action ``libplacement_runtime_switch`` (``watcher_actions``,
  libplacement_watcher.actions)
* options ``[libplacement]`` of watcher.conf (``oslo.config.opts``
  namespace ``libplacement.watcher``, libplacement_watcher.opts)

Docs: docs/watcher.md.
"""
