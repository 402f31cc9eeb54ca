"""CSV files, figures (matplotlib, headless Agg) and report.md of a run."""

import csv
import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

POLICY_COLORS = {'nova': '#d62728', 'nova+groups': '#ff7f0e',
                 'libplacement': '#1f77b4', 'best': '#2ca02c'}


def write_csv(path, rows, fields=None):
    """rows: list of dicts; lists inside are joined with ';'."""
    if not rows:
        return
    fields = fields or list(dict.fromkeys(k for r in rows for k in r))
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        w.writeheader()
        for r in rows:
            w.writerow({k: (';'.join('%.6g' % x if isinstance(x, float) else str(x) for x in v)
                            if isinstance(v, (list, tuple)) else
                            ('%.6g' % v if isinstance(v, float) else v))
                        for k, v in r.items()})


def knee_figure(path, experiments):
    """One panel per knee experiment: throughput (median, min-max) and the
    agent's demand against servers per host, with the knee, the demand
    crossing and the filter's cap marked."""
    fig, axes = plt.subplots(1, len(experiments), figsize=(4.6 * len(experiments), 3.8),
                             squeeze=False)
    for ax, exp in zip(axes[0], experiments):
        rows = exp['rows']
        ns = [r['servers'] for r in rows]
        thr = [r['throughput'] / exp['unit_scale'] for r in rows]
        lo = [t - r['throughput_min'] / exp['unit_scale'] for t, r in zip(thr, rows)]
        hi = [r['throughput_max'] / exp['unit_scale'] - t for t, r in zip(thr, rows)]
        ax.errorbar(ns, thr, yerr=[lo, hi], marker='o', color='#1f77b4', capsize=3,
                    label='throughput (median, min-max)')
        ax.set_xlabel('servers per host (%d-thread slice, %d-thread servers)'
                      % (rows[0]['threads'], rows[0]['server_threads']), fontsize=8)
        ax.set_ylabel(exp['unit'], color='#1f77b4')
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.plot(ns, [r['demand'] for r in rows], marker='s', color='#d62728',
                 label='agent demand (slice)')
        ax2.axhline(rows[0]['threads'], color='#d62728', ls=':', lw=1)
        ax2.set_ylabel('runnable threads (agent)', color='#d62728')
        ax2.set_ylim(bottom=0)
        if exp['knee']:
            ax.axvline(exp['knee'], color='k', ls='--', lw=1)
        if exp['cap']:
            ax.axvspan(0.5, exp['cap'] + 0.5, color='#2ca02c', alpha=0.08)
        ax.set_title('%s\nknee %s, demand = threads at %s, filter admits %s'
                     % (exp['title'], exp['knee'] or '>%d' % ns[-1],
                        exp['reached'] or '>%d' % ns[-1], exp['cap']), fontsize=9)
        ax.set_xticks(ns)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def policy_figure(path, rows, metrics, title):
    """Grouped bars: one group per cluster size, one bar per policy."""
    sizes = sorted({r['hosts'] for r in rows})
    policies = [p for p in POLICY_COLORS if any(r['policy'] == p for r in rows)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.4), squeeze=False)
    width = 0.8 / len(policies)
    for ax, (key, label) in zip(axes[0], metrics):
        for k, p in enumerate(policies):
            vals = []
            for s in sizes:
                v = [r[key] for r in rows if r['policy'] == p and r['hosts'] == s and key in r]
                vals.append(sum(v) / len(v) if v else 0.0)
            ax.bar([i + k * width for i in range(len(sizes))], vals, width,
                   color=POLICY_COLORS[p], label=p)
        ax.set_xticks([i + width * (len(policies) - 1) / 2 for i in range(len(sizes))])
        ax.set_xticklabels(['%d' % s for s in sizes])
        ax.set_xlabel('hosts', fontsize=8)
        ax.set_title(label, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def loop_figure(path, rows, groups):
    """Closed loop: per group, measured throughput under each placement as a
    fraction of what its servers would deliver at full speed, with the
    number of servers placed."""
    policies = [p for p in POLICY_COLORS if any(r['policy'] == p for r in rows)]
    fig, ax = plt.subplots(figsize=(1.9 * len(groups) + 2.5, 3.4))
    width = 0.8 / len(policies)
    for k, p in enumerate(policies):
        for i, g in enumerate(groups):
            r = next(r for r in rows if r['policy'] == p and r['group'] == g)
            frac = r['throughput'] / r['full_speed'] if r['full_speed'] else 0.0
            ax.bar(i + k * width, frac, width, color=POLICY_COLORS[p],
                   label=p if i == 0 else None)
            ax.text(i + k * width, frac + 0.02, '%d placed' % r['placed'], ha='center',
                    fontsize=7)
    ax.set_xticks([i + width * (len(policies) - 1) / 2 for i in range(len(groups))])
    ax.set_xticklabels(groups)
    ax.set_ylabel('throughput / full speed of its servers')
    ax.set_ylim(0, 1.25)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def md_table(rows, cols, fmt=None):
    fmt = fmt or {}
    out = ['| ' + ' | '.join(h for h, _k in cols) + ' |',
           '|' + '---|' * len(cols)]
    for r in rows:
        cells = []
        for _h, k in cols:
            v = r.get(k, '') if isinstance(k, str) else k(r)
            f = fmt.get(k) if isinstance(k, str) else None
            cells.append(f % v if f and isinstance(v, (int, float)) else
                         ('%.3g' % v if isinstance(v, float) else str(v)))
        out.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path
