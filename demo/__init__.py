"""make demo: the research testbed as an in-process Nova 26 cloud.

Run from the source tree (``make demo``, or ``python3 -m demo`` with
PYTHONPATH holding the built module and the top directory); it is not part
of any package. Modules:

* ``cloud``: the in-process Nova cloud (also used by eval/closedloop.py);
* ``scenarios``: what the demo does in its clouds, as plain results;
* ``report``: those results as text of at most 100 columns;
* ``__main__``: runs the scenarios and prints the report.
"""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The testbed fixture and the fake agents live with the Nova tests, the knee
# model with the evaluation: the demo runs from the source tree.
for _path in (os.path.join(TOP, 'tests', 'nova'), os.path.join(TOP, 'eval')):
    if _path not in sys.path:
        sys.path.append(_path)
