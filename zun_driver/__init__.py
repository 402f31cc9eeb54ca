"""libplacement for OpenStack Zun.

``zun_driver.filters.LibplacementFilter`` is a Zun scheduler filter that keeps
every host within its physical parallelism, orders the passing hosts
best-first (Zun has no weighers) and records the runtime a container should
run in.  ``zun_driver.driver.LibplacementDockerDriver`` is the Docker driver
that applies that runtime on the compute host.  Options live in the
``[libplacement]`` group of zun.conf (``zun_driver.opts``).

This package imports only Zun, the ``libplacement`` extension module and
``libplacement_oslo`` (the options it shares with the Nova plugin), so that it
works in Zun deployments without Nova.
"""
