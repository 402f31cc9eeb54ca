#!/usr/bin/python3
"""Benchmark of the agent: sweep cost per task over 1,000 processes, and the
agent's resident memory after 1,000 sweeps.

Prints:
  bench agent_sweep tasks=N us_per_task=X
  bench agent_rss samples=N rss_kib=X anon_kib=Y
(rss counts the shared libraries' resident pages, anon the agent's own memory)
"""
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentlib  # noqa: E402

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
PROCS = 1000
SAMPLES = 1000


def metric(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    if os.geteuid() != 0:
        print("bench agent_sweep skipped: needs root to create the cgroup")
        return
    cg = agentlib.Cgroup("bench", cpus="0")
    agent = None
    try:
        cg.spawn(["/bin/sh", "-c", "i=0; while [ $i -lt %d ]; do sleep 600 & i=$((i+1)); done; "
                  "echo ready; wait" % (PROCS - 1)], wait_line=True)
        port = agentlib.free_port()
        agent = agentlib.Daemon(AGENT, "--port", str(port), "--interval", "0.01",
                                "--collectors", "proc", "--log-level", "warning")
        agent.wait_ready(port)
        url = "http://127.0.0.1:%d/metrics" % port
        end = time.monotonic() + 300
        while True:
            text = urllib.request.urlopen(url, timeout=10).read().decode()
            sweeps = metric(text, "lp_agent_sweeps_total")
            if sweeps >= SAMPLES or time.monotonic() > end:
                break
            time.sleep(0.5)
        threads = sum(float(v) for v in re.findall(
            r'^lp_workload_threads\{id="%s".*\} (\S+)$' % re.escape(cg.rel), text, re.M))
        # CPU time: on a shared machine wall time also counts waiting for a CPU
        cpu = metric(text, "lp_agent_sweep_cpu_seconds_total")
        wall = metric(text, "lp_agent_sweep_seconds_total")
        print("bench agent_sweep tasks=%d us_per_task=%.3f" % (threads, cpu / sweeps / threads * 1e6))
        print("bench agent_sweep_wall tasks=%d us_per_task=%.3f" % (threads, wall / sweeps / threads * 1e6))
        print("bench agent_rss samples=%d rss_kib=%d anon_kib=%d"
              % (sweeps, agent.rss_kib(), agent.rss_kib("RssAnon")))
    finally:
        if agent:
            agent.close()
        cg.destroy()


if __name__ == "__main__":
    main()
