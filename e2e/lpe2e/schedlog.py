"""Reading nova-scheduler's own log (DEBUG, oslo.log's time stamps in ms).

* per request: ``Starting to schedule for instances: ['<uuid>']`` when
  ``select_destinations`` starts, ``[instance: <uuid>] Selected host:`` when
  it has chosen and claimed (or the NoValidHost that ends it) — the
  scheduler's own time for the request, Placement queries and claims
  included;
* the plugin's lines: its per-host DEBUG explanations, its INFO/WARNING
  about agents and its ERROR when it cannot decide.
"""

import datetime
import re

STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ')
START = re.compile(r"Starting to schedule for instances: \['([0-9a-f-]{36})'")
SELECTED = re.compile(r'\[instance: ([0-9a-f-]{36})\] Selected host')


class LogCursor(object):
    """Reads what a log file gained since the cursor was made."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, 'rb') as f:
                f.seek(0, 2)
                self.offset = f.tell()
        except OSError:
            self.offset = 0

    def text(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.offset)
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def lines(self, pattern):
        rx = re.compile(pattern)
        return [line for line in self.text().splitlines() if rx.search(line)]


def _when(line):
    m = STAMP.match(line)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f')


def request_seconds(text):
    """{instance uuid: seconds from select_destinations' start to the host
    chosen} for the single-instance requests in text."""
    started, out = {}, {}
    for line in text.splitlines():
        m = START.search(line)
        if m:
            when = _when(line)
            if when:
                started[m.group(1)] = when
            continue
        m = SELECTED.search(line)
        if m and m.group(1) in started:
            when = _when(line)
            if when:
                out[m.group(1)] = (when - started.pop(m.group(1))
                                   ).total_seconds()
    return out


def plugin_host_lines(text, host):
    """The plugin's DEBUG lines about host (ParallelismFilter / weigher /
    RuntimeFilter explanations)."""
    rx = re.compile(r'(ParallelismFilter|RuntimeFilter|ParallelismWeigher): '
                    r'host %s ' % re.escape(host))
    return [line for line in text.splitlines() if rx.search(line)]


def message(line):
    """The message of an oslo.log line: after the request context, without
    the colour reset and the "function path:line" that DEBUG lines end
    with."""
    line = re.sub(r'\x1b\[[0-9;]*m', '', line).rstrip()
    line = re.sub(r' \w+ /\S+\.py:\d+$', '', line)
    m = re.search(r'\] (.*)$', line)
    return (m.group(1) if m else line).strip()
