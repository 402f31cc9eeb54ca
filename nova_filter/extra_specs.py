"""Validators of the ``libplacement:*`` flavor extra specs.

Registered through the ``nova.api.extra_spec_validators`` entry point, so the
flavor API refuses bad values with HTTP 400. Once registered, every key of the
``libplacement`` namespace must be declared here.
"""

from nova.api.validation.extra_specs import base

# A positive decimal number: a non-zero digit in the integer part, or in the
# fraction ("2", "1.5", "0.5", ".25"; not "0", "0.0", "-1", "1e3").
POSITIVE_NUMBER = r'[0-9]*[1-9][0-9]*(\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*'

VALIDATORS = [
    base.ExtraSpecValidator(
        name='libplacement:workload',
        description=(
            'Workload class of the instances: cpu (CPU-bound, parallel), '
            'net (network-I/O-bound), io (disk-I/O-bound), mixed, idle, or '
            'auto (classify from agent measurements; unclassified without '
            'them). cpu and mixed instances reserve their full parallelism '
            'on a host; the others their measured or estimated demand.'),
        value={
            'type': str,
            'enum': ['cpu', 'net', 'io', 'mixed', 'idle', 'auto'],
        },
    ),
    base.ExtraSpecValidator(
        name='libplacement:parallelism',
        description=(
            'Number of threads an instance keeps busy (a positive number); '
            'defaults to the flavor\'s vCPUs.'),
        value={
            'type': str,
            'pattern': POSITIVE_NUMBER,
        },
    ),
    base.ExtraSpecValidator(
        name='libplacement:runtime',
        description=(
            'Runtime the instances must run in: container, unikernel, vm, '
            'or auto (the policy\'s preference for the workload class among '
            'those the host and image offer).'),
        value={
            'type': str,
            'enum': ['auto', 'container', 'unikernel', 'vm'],
        },
    ),
]


def register():
    """Validators of this namespace; Nova calls it on the module that the
    nova.api.extra_spec_validators entry point names."""
    return VALIDATORS
