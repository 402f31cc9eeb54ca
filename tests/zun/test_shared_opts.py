"""libplacement_oslo: the [libplacement] options Nova and Zun share.

Run with the Zun tests because Zun deployments have no Nova: the shared
package and zun_driver must import without it.
"""

import os
import subprocess
import sys

from oslo_config import cfg
import pytest

from libplacement_oslo import opts as common
from zun_driver import opts as zun_opts

import conftest

SHARED = {'max_parallel_ratio', 'default_workload', 'runtime_order',
          'policy', 'fail_open', 'agent_url', 'agent_timeout', 'agent_ttl',
          'agent_token', 'agent_ca_file', 'learn_min_instances',
          'learn_min_confidence'}


@pytest.fixture
def group():
    """A fresh [libplacement] group with the shared options and one
    plugin-only option that is a core parameter (as Nova's weights are)."""
    conf = cfg.ConfigOpts()
    conf.register_opts(common.OPTS + [cfg.FloatOpt('weight_spread',
                                                   default=0.25)],
                       group='libplacement')
    conf([], default_config_files=[])

    def set_options(**values):
        for name, value in values.items():
            conf.set_override(name, value, group='libplacement')
        return conf.libplacement
    return set_options


def test_shared_names_in_zun_list():
    assert {o.name for o in common.OPTS} == SHARED
    [(_group, options)] = zun_opts.list_opts()
    names = [o.name for o in options]
    assert len(names) == len(set(names))
    assert SHARED | {'docker_runtimes'} == set(names)


def test_imports_no_nova():
    code = ('import sys, libplacement_oslo.opts, zun_driver.opts, '
            'zun_driver.policy; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("nova", "nova_filter")))')
    # Zun (here its stand-in) is there, as in every Zun deployment.
    path = os.pathsep.join([conftest.STANDIN] + sys.path)
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=path)).stdout
    assert out.strip() == '[]'


def test_defaults(group):
    ctx = common.context_from_options(group())
    assert ctx.get('max_parallel_ratio') == 1.0
    assert ctx.get('weight_spread') == 0.5          # own_params not given
    assert ctx.get_runtime_order('cpu') == 'unikernel,vm'


def test_options_reach_the_context(group):
    ctx = common.context_from_options(
        group(max_parallel_ratio=1.5,
              policy={'cpu_busy_fraction': '0.6'},
              runtime_order={'cpu': ' vm + container ',
                             'unknown': 'container'}),
        own_params=['weight_spread'])
    assert ctx.get('max_parallel_ratio') == 1.5
    assert ctx.get('weight_spread') == 0.25
    assert ctx.get('cpu_busy_fraction') == 0.6
    assert ctx.get_runtime_order('cpu') == 'vm,container'
    assert ctx.get_runtime_order('unknown') == 'container'


def test_policy_overrides_options_of_the_same_name(group):
    ctx = common.context_from_options(
        group(max_parallel_ratio=1.5,
              policy={'max_parallel_ratio': '2', 'weight_spread': '0.75'}),
        own_params=['weight_spread'])
    assert ctx.get('max_parallel_ratio') == 2.0
    assert ctx.get('weight_spread') == 0.75


@pytest.mark.parametrize('values, message', [
    ({'policy': {'weight_spread': 'lots'}},
     r"^\[libplacement\] policy: weight_spread='lots' is not a number$"),
    ({'policy': {'no_such_parameter': '1'}},
     r"^\[libplacement\] policy: no_such_parameter='1' is refused: "
     r".*no_such_parameter"),
    ({'policy': {'weight_spread': 'nan'}},
     r"^\[libplacement\] policy: weight_spread='nan' is refused: .*finite"),
    ({'max_parallel_ratio': 20.0},
     r"^\[libplacement\] max_parallel_ratio: 20.0 is refused: .*range"),
    ({'weight_spread': -1.0},
     r"^\[libplacement\] weight_spread: -1.0 is refused: .*range"),
    ({'runtime_order': {'cpu': 'unikernel+warp'}},
     r"^\[libplacement\] runtime_order: cpu='unikernel\+warp' is refused: "
     r".*'warp'"),
    ({'runtime_order': {'cpu': '+'}},
     r"^\[libplacement\] runtime_order: cpu='\+' is refused: .*empty"),
    ({'runtime_order': {'gpu': 'vm'}},
     r"^\[libplacement\] runtime_order: gpu='vm' is refused: .*'gpu'"),
])
def test_bad_values_name_the_option(group, values, message):
    with pytest.raises(ValueError, match=message):
        common.context_from_options(group(**values),
                                    own_params=['weight_spread'])
