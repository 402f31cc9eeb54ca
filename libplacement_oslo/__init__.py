"""What the libplacement plugins for OpenStack services share.

``libplacement_oslo.opts`` holds the ``[libplacement]`` options that mean the
same in nova.conf and zun.conf, and builds a ``libplacement.Context`` from
them. ``nova_filter`` and ``zun_driver`` each list these options plus their
own; this package imports neither Nova nor Zun, so either plugin works
without the other service installed.
"""
