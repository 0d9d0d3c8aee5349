"""Plots a soak's samples (scepter-bench --soak): RSS and open file
descriptors per process over time, with the faults marked.

    python soak-plot.py SAMPLES.csv PLOT.png [TITLE]

The CSV has `seconds,label,process,rss_mib,open_fds,processes`; rows labelled
`before <fault> (<target>)` mark the faults. scripts/bench runs this with
matplotlib from a venv it creates (Benchmarks/.build/plot-venv).
"""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: soak-plot.py SAMPLES.csv PLOT.png [TITLE]")
    source, target = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else ""
    series = defaultdict(lambda: ([], [], [], []))
    faults = []
    with open(source, newline="") as handle:
        for row in csv.DictReader(handle):
            minutes = float(row["seconds"]) / 60
            times, rss, fds, processes = series[row["process"]]
            times.append(minutes)
            rss.append(float(row["rss_mib"]))
            fds.append(int(row["open_fds"]))
            processes.append(int(row.get("processes") or 1))
            label = row["label"]
            if label.startswith("before ") and (not faults or faults[-1][1] != label):
                faults.append((minutes, label))

    # PostgreSQL (postmaster and backends, summed) gets a panel of its own:
    # its figures are an order of magnitude above the Scepter processes'.
    figure, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(11, 10))
    for name in sorted(series):
        times, rss, fds, processes = series[name]
        if name == "postgres":
            bottom.plot(times, rss, marker=".", color="tab:blue", label="RSS, summed over processes (MiB)")
            bottom.plot(times, fds, marker=".", color="tab:orange", label="open fds, summed")
            twin = bottom.twinx()
            twin.plot(times, processes, marker=".", color="tab:green", label="processes (right axis)")
            twin.set_ylabel("processes")
            twin.legend(loc="upper left", fontsize=8)
            continue
        top.plot(times, rss, marker=".", label=name)
        middle.plot(times, fds, marker=".", label=name)
    for axis in (top, middle, bottom):
        for minutes, _ in faults:
            axis.axvline(minutes, color="grey", linestyle=":", linewidth=0.8)
        axis.grid(True, alpha=0.3)
    for minutes, label in faults:
        short = label[len("before "):]
        top.annotate(short, (minutes, 1), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                     va="top", ha="right", color="dimgrey")
    top.set_ylabel("RSS (MiB)")
    middle.set_ylabel("open file descriptors")
    bottom.set_ylabel("PostgreSQL")
    bottom.set_yscale("log")
    bottom.set_xlabel("minutes since the soak's load started")
    top.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    middle.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    bottom.legend(loc="lower left", fontsize=8)
    top.set_title(("Scepter soak " + title).strip() + ": RSS and open fds per process (dotted: faults)")
    figure.tight_layout()
    figure.savefig(target, dpi=110)


if __name__ == "__main__":
    main()
