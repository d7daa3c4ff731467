#!/usr/bin/python3
"""Issue 6's table from the output of tools/perf-sitting.sh: each of our runs against the peer runs of the same
round, as speed and memory ratios, with our shares of the GEMM bound; then, per run, the medians and ranges over all
rounds against the issue's targets, with the ratio the bound allows and the share of it each target needs. Several logs pool their rounds (numbered sitting.round), since one sitting on a
shared machine can fall in a slow phase. Usage: sitting_table.py LOG [LOG ...]"""
import json
import re
import statistics
import sys

OURS_PATTERNS = {
    "ms": r"^ms/step: median ([\d.]+)",
    "rss": r"^peak memory: ([\d.]+) GB resident",
    "share": r"so the step runs at (\d+) % of its bound",
    "phase": r"^phase-matched: .* median (\d+) % of its bound",
    "products": r"^products called outside .*\((\d+) % of the peak\)",
    "other": r"with the products inside them, took (-?\d+) ms",
}
PEER_LINE = re.compile(r"^PEER (best|as-found) (\w+) threads (\S+) OPENBLAS_CORETYPE .+ median (\d+) min \d+ peak RSS MB (\d+)")


def parse(lines):
    """Our runs and the peers' in order, each a dict; a JSON line is the LLaMA peer."""
    runs = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("OURS "):
            runs.append({"who": "ours", "args": line[5:].strip()})
        elif m := PEER_LINE.match(line):
            runs.append({"who": "peer", "setting": m[1], "mode": m[2], "threads": m[3],
                         "ms": float(m[4]), "rss": float(m[5]) / 1000})
        elif line.startswith("{") and '"step_ms_median"' in line:
            d = json.loads(line)
            # The script runs the LLaMA peer with OPENBLAS_CORETYPE unset: at its best.
            runs.append({"who": "peer", "setting": "best", "mode": "llama-" + d["mode"], "threads": d["threads_arg"],
                         "ms": d["step_ms_median"], "rss": d["peak_rss_mb"] / 1000})
        elif runs and runs[-1]["who"] == "ours":
            for key, pattern in OURS_PATTERNS.items():
                if m := re.search(pattern, line):
                    runs[-1][key] = float(m[1])
    return runs


def pairs(runs):
    """(label, ours, peer) in the order the script runs them: a round starts at our 2-thread LoRA run."""
    rounds = [[]]
    for run in runs:
        if run["who"] == "ours" and run["args"] == "--threads 2" and rounds[-1]:
            rounds.append([])
        rounds[-1].append(run)
    result = []
    for number, group in enumerate(rounds, 1):
        ours = [r for r in group if r["who"] == "ours"]
        peers = [r for r in group if r["who"] == "peer"]

        def peer(mode, threads, setting="best"):
            return next((p for p in peers if p["mode"] == mode and p["threads"] == threads
                         and p["setting"] == setting), None)

        for o in ours:
            args = o["args"]
            if args == "--threads 2":
                candidates = [("LoRA, 2 threads, vs the peer at its best (default threads, CORETYPE unset)", peer("lora", "default")),
                              ("LoRA, 2 threads, vs the peer as the environment runs it", peer("lora", "default", "as-found")),
                              ("LoRA, 2 threads, vs the peer at 2 threads", peer("lora", "2"))]
            elif args == "--threads 1":
                candidates = [("LoRA, 1 thread, vs the peer at 1 thread", peer("lora", "1"))]
            elif args == "--threads 2 --method full":
                candidates = [("full, 2 threads, vs the peer at its best (default threads)", peer("full", "default")),
                              ("full, 2 threads, vs the peer at 2 threads", peer("full", "2"))]
            elif args == "--threads 1 --method full":
                candidates = [("full, 1 thread, vs the peer at 1 thread", peer("full", "1"))]
            elif args.startswith("llama-1b"):
                label = "Llama-3.2-1B shapes, 2 threads" + (", --frozen-bf16" if "--frozen-bf16" in args else "")
                candidates = [(label + ", vs the peer at its best (default threads)", peer("llama-lora", "default")),
                              (label + ", vs the peer at 2 threads", peer("llama-lora", "2"))]
            else:
                candidates = [(args, None)]
            for label, p in candidates:
                result.append((number, label, o, p))
    return result


# Issue 6's speed targets, per run: tokens/s as a multiple of the peer's.
SPEED_TARGETS = {
    "LoRA, 2 threads, vs the peer at its best (default threads, CORETYPE unset)": 1.1,
    "LoRA, 2 threads, vs the peer as the environment runs it": 1.5,
    "LoRA, 1 thread, vs the peer at 1 thread": 1.1,
    "full, 2 threads, vs the peer at its best (default threads)": 1.0,
    "full, 1 thread, vs the peer at 1 thread": 1.0,
}
# And for the LoRA step: peak memory at most 0.7× the peer's, and at least 80% of the GEMM bound.
MEMORY_TARGET, BOUND_TARGET = 0.7, 80


def speed_ratio(ours, peer):
    """How many times faster our step ran than the peer's, or None where either time is missing."""
    return peer["ms"] / ours["ms"] if peer and "ms" in ours else None


def memory_ratio(ours, peer):
    """Our peak RSS as a fraction of the peer's, or None where either is missing."""
    return ours["rss"] / peer["rss"] if peer and "rss" in ours else None


def ceiling(ours, peer):
    """The speed ratio our step would have at the whole of its phase-matched GEMM bound (every product at the peak
    measured around it, nothing else taking time): no engine change can take the ratio past it in that round."""
    ratio = speed_ratio(ours, peer)
    return ratio * 100 / ours["phase"] if ratio is not None and ours.get("phase") else None


def cell(value, fmt, unit=""):
    return "–" if value is None else format(value, fmt) + unit


def spread(values, fmt, unit=""):
    """Median and range: "1.52× (1.42–1.76×)"."""
    if not values:
        return "–"
    if len(values) == 1:
        return cell(values[0], fmt, unit)
    return f"{cell(statistics.median(values), fmt, unit)} ({cell(min(values), fmt)}–{cell(max(values), fmt, unit)})"


def pooled(rows):
    """Per run, over every round that has it: speed and memory ratios and the phase-matched share, with targets."""
    print("| run | rounds | speed ratio, median (range) | target | rounds at or above it | memory ratio "
          "| share of bound, phase-matched | ratio at the whole bound | share of bound the target needs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    labels = list(dict.fromkeys(label for _, label, _, _ in rows))
    for label in labels:
        runs = [(o, p) for _, l, o, p in rows if l == label and speed_ratio(o, p) is not None]
        speeds = [speed_ratio(o, p) for o, p in runs]
        memory = [m for o, p in runs if (m := memory_ratio(o, p)) is not None]
        phase = [o["phase"] for o, _ in runs if "phase" in o]
        ceilings = [c for o, p in runs if (c := ceiling(o, p)) is not None]
        target = SPEED_TARGETS.get(label)
        met = "–" if target is None else f"{sum(s >= target for s in speeds)} of {len(speeds)}"
        needed = [] if target is None else [100 * target / c for c in ceilings]
        print(f"| {label} | {len(runs)} | {spread(speeds, '.2f', '×')} | {cell(target, '.1f', '×')} | {met} "
              f"| {spread(memory, '.2f')} | {spread(phase, '.0f', ' %')} | {spread(ceilings, '.2f', '×')} "
              f"| {spread(needed, '.0f', ' %')} |")
    # Each LoRA run of ours once, though the 2-thread one is set against three peers: the memory ratio is taken
    # against the first of them, the peer at its best.
    lora = {}
    for number, label, o, p in rows:
        if label.startswith("LoRA") and p:
            lora.setdefault((number, label.split(",")[1].strip()), (o, p))
    print()
    for threads in ("2 threads", "1 thread"):
        runs = [(o, p) for (_, t), (o, p) in lora.items() if t == threads]
        measured = [m for o, p in runs if (m := memory_ratio(o, p)) is not None]
        small = sum(ratio <= MEMORY_TARGET for ratio in measured)
        phases = [o["phase"] for o, _ in runs if "phase" in o]
        bound = sum(share >= BOUND_TARGET for share in phases)
        print(f"LoRA at {threads}: peak memory at most {MEMORY_TARGET}× the peer's in {small} of {len(measured)} rounds; "
              f"at least {BOUND_TARGET} % of the GEMM bound (phase-matched) in {bound} of {len(phases)}.")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: sitting_table.py LOG [LOG ...]")
    rows = []
    for index, path in enumerate(sys.argv[1:], 1):
        with open(path, encoding="utf-8") as log:
            found = pairs(parse(log))
        unpaired = sum(p is None for _, _, _, p in found)
        if unpaired:
            # A log from before the PEER lines named their setting, or a sitting cut short: say so, rather than
            # leave those rows out of the pooled figures without a word.
            print(f"sitting_table: {path}: {unpaired} of {len(found)} comparisons have no peer run; "
                  "they show – and count in no pooled figure", file=sys.stderr)
        for number, label, o, p in found:
            rows.append((number if len(sys.argv) == 2 else f"{index}.{number}", label, o, p))
    print("| round | run | ours ms/step | peer ms/step | speed ratio | ours peak RSS GB | peer peak RSS GB | memory ratio "
          "| share of bound (best-of / phase-matched) | products' share of the peak / other ops ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for number, label, o, p in rows:
        speed, memory = speed_ratio(o, p), memory_ratio(o, p)
        print(f"| {number} | {label} | {cell(o.get('ms'), '.0f')} | {cell(p and p['ms'], '.0f')} | {cell(speed, '.2f', '×')} "
              f"| {cell(o.get('rss'), '.2f')} | {cell(p and p['rss'], '.2f')} | {cell(memory, '.2f')} "
              f"| {cell(o.get('share'), '.0f')} / {cell(o.get('phase'), '.0f')} % "
              f"| {cell(o.get('products'), '.0f')} % / {cell(o.get('other'), '.0f')} |")
    print()
    pooled(rows)


if __name__ == "__main__":
    main()
