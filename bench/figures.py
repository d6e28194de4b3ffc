"""How benchmarks report: percentiles, the ratio to a target, and what else ran on the machine.

A benchmark prints what it measured in this one run, next to the target and the ratio between
them; it never asserts a speed (speed targets live here, not in tests).
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def percentile(samples: list[float], fraction: float) -> float:
    """The sample below which `fraction` of them lie (nearest rank; samples need not be sorted)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Target:
    """A figure the issue asks for: at least (`higher_is_better`) or at most `value`."""

    value: float
    unit: str
    higher_is_better: bool

    def ratio(self, measured: float) -> float:
        """Above 1.0 means the target is met, whichever direction is better."""
        if self.higher_is_better:
            return measured / self.value
        return self.value / measured if measured > 0 else float("inf")

    def line(self, label: str, measured: float) -> str:
        sign = ">=" if self.higher_is_better else "<="
        ratio = self.ratio(measured)
        verdict = "met" if ratio >= 1.0 else "MISSED"
        target = f"{self.value:,.2f}" if self.value < 10 else f"{self.value:,.0f}"
        return (
            f"  {label}: {measured:,.2f} {self.unit}  (target {sign} {target} {self.unit}; "
            f"ratio {ratio:.2f}, {verdict})"
        )


def milliseconds(seconds: float) -> float:
    return seconds * 1000.0


def latency_line(label: str, seconds: list[float]) -> str:
    ms = [milliseconds(s) for s in seconds]
    return (
        f"  {label}: p50 {percentile(ms, 0.50):.2f} ms, p95 {percentile(ms, 0.95):.2f} ms, "
        f"max {max(ms):.2f} ms over {len(ms)} requests"
    )


def machine() -> str:
    """One line naming the machine, for the README's figures."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({model}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def busy_processes(*, sample_seconds: float = 1.0, exclude: set[int] | None = None) -> str:
    """The load average and the processes (other than ours) that used CPU over a short sample:
    the noise our figures were measured in."""
    exclude = {os.getpid(), *(exclude or set())}
    before = _cpu_ticks()
    time.sleep(sample_seconds)
    after = _cpu_ticks()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = []
    for pid, (name, total) in after.items():
        if pid in exclude or pid not in before:
            continue
        share = (total - before[pid][1]) / ticks / sample_seconds
        if share >= 0.02:
            used.append((share, f"{name}[{pid}] {share:.0%}"))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    others = ", ".join(text for _, text in sorted(used, reverse=True)[:6]) or "none above 2% of a core"
    return f"load average {' '.join(load)}; other processes using CPU: {others}"


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    result: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        result[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return result
