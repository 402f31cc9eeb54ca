"""Declared parallelism as a Placement resource class (many schedulers).

The filters keep a host within its cap inside one nova-scheduler process.
Several schedulers (or several processes) do not see each other's
placements until the compute reports them; Placement does, because every
scheduler claims there. This module describes the parallelism cap as
Placement inventory, so that Placement itself refuses an over-cap claim:

* resource class ``CUSTOM_LIBPLACEMENT_PARALLELISM``, in hundredths of a
  hardware thread;
* each compute node's inventory: ``threads x max_parallel_ratio x 100``,
  set by a provider config file (nova-compute's ``[compute]
  provider_config_location``, default /etc/nova/provider_config/);
* each flavor asks for what one instance reserves (the core's rule for its
  class and parallelism): ``resources:CUSTOM_LIBPLACEMENT_PARALLELISM=N``.

Command line::

    python3 -m nova_filter.placement provider-config --threads 8 [--ratio 1.0]
    python3 -m nova_filter.placement flavor --vcpus 2 [--workload cpu]
                                     [--parallelism P]

The first prints the YAML file for a compute node, the second the flavor
property (``openstack flavor set F --property <it>``).
"""

import argparse
import math
import sys

RESOURCE_CLASS = 'CUSTOM_LIBPLACEMENT_PARALLELISM'
# Placement inventories are integers: hundredths of a thread.
UNITS_PER_THREAD = 100


def inventory_total(threads, ratio=1.0):
    """Units of RESOURCE_CLASS a node of this many threads offers."""
    return int(math.floor(threads * ratio * UNITS_PER_THREAD + 1e-6))


def provider_config(threads, ratio=1.0):
    """The provider config document (a dict to dump as YAML) giving every
    compute node of the nova-compute that reads it the inventory."""
    total = inventory_total(threads, ratio)
    return {
        'meta': {'schema_version': '1.0'},
        'providers': [{
            'identification': {'uuid': '$COMPUTE_NODE'},
            'inventories': {'additional': [{RESOURCE_CLASS: {
                'total': total, 'reserved': 0, 'min_unit': 1,
                'max_unit': total, 'step_size': 1,
                'allocation_ratio': 1.0}}]},
        }],
    }


def flavor_amount(ctx, vcpus, workload='auto', parallelism=0.0):
    """Units one instance of a flavor asks for: what it reserves by the
    core's rule (ctx: a libplacement.Context with the scheduler's
    policy), rounded up."""
    _klass, added = ctx.resolve({'vcpus': float(vcpus), 'workload': workload,
                                 'parallelism': float(parallelism)})
    return int(math.ceil(added * UNITS_PER_THREAD - 1e-6))


def flavor_property(ctx, vcpus, workload='auto', parallelism=0.0):
    """The flavor extra spec, as 'key=value'."""
    return 'resources:%s=%d' % (
        RESOURCE_CLASS, flavor_amount(ctx, vcpus, workload, parallelism))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python3 -m nova_filter.placement',
        description='Placement inventory and flavor properties for '
                    'libplacement\'s parallelism cap across schedulers.')
    sub = parser.add_subparsers(dest='command', required=True)
    pc = sub.add_parser('provider-config',
                        help='YAML for [compute] provider_config_location')
    pc.add_argument('--threads', type=int, required=True,
                    help='hardware threads of the compute node')
    pc.add_argument('--ratio', type=float, default=1.0,
                    help='[libplacement] max_parallel_ratio (default 1.0)')
    fl = sub.add_parser('flavor', help='the flavor property to set')
    fl.add_argument('--vcpus', type=float, required=True)
    fl.add_argument('--workload', default='auto',
                    help='the flavor\'s libplacement:workload (default auto)')
    fl.add_argument('--parallelism', type=float, default=0.0,
                    help='the flavor\'s libplacement:parallelism')
    args = parser.parse_args(argv)
    if args.command == 'provider-config':
        if args.threads < 1 or args.ratio <= 0:
            parser.error('--threads must be >= 1 and --ratio > 0')
        import yaml
        sys.stdout.write(yaml.safe_dump(
            provider_config(args.threads, args.ratio), sort_keys=False))
        return 0
    import libplacement as lp
    try:
        print(flavor_property(lp.Context(), args.vcpus, args.workload,
                              args.parallelism))
    except (ValueError, lp.Error) as e:
        parser.error(str(e))
    return 0


if __name__ == '__main__':
    sys.exit(main())
