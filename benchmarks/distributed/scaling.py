#!/usr/bin/env python3
"""Expected data-parallel scaling on paper, from a results file of run.sh.

    python3 benchmarks/distributed/scaling.py benchmarks/distributed/results-DATE.jsonl

For N machines of this machine's kind (2 cores; one rank per machine running 2 threads), the time of
one update is modelled as

    T(N) = T_step + T_wait(N) + T_allreduce(N)
    T_allreduce(N) = 2 (N-1)/N * S / B  +  k * 2 (N-1) * alpha      (ring all-reduce, no overlap)
    T_wait(N)      = sigma * c_N                                    (waiting for the slowest of N)

with S the gradient bytes (4 per parameter), k the all-reduce calls per update (run.sh's summary
line), T_step and sigma the median and standard deviation of the one-process, 2-thread update time
measured by run.sh, c_N the expected maximum of N standard normal draws, B the network's bandwidth
and alpha the latency of one message. Speed-up is N T_step / T(N). With --update-freq F the step and
its spread grow F and sqrt(F) times while the all-reduce stays the same.
"""
import json
import re
import statistics
import sys

# Expected maximum of N independent standard normal draws.
EXPECTED_MAX = {2: 0.564, 8: 1.424, 64: 2.336}
NETWORKS = [("1 Gb/s Ethernet", 0.117e9, 50e-6), ("10 Gb/s Ethernet", 1.15e9, 30e-6), ("25 Gb/s", 2.9e9, 20e-6)]

rows = {json.loads(line)["run"]: json.loads(line) for line in open(sys.argv[1])}
for preset in ("small", "base"):
    one = rows.get(f"{preset}-1proc-2threads")
    ranks = rows.get(f"{preset}-2ranks-shm")
    if not one or not ranks or not ranks["summary"]:
        continue
    floats = int(re.search(r"(\d+) gradient floats", ranks["summary"]).group(1))
    calls = int(re.search(r"in (\d+) all-reduce calls", ranks["summary"]).group(1))
    size = 4 * floats
    step = one["step_median"]
    sigma = statistics.pstdev(one["steps"])
    print(f"{preset}: {floats:,} parameters, S = {size / 2**20:.0f} MiB, k = {calls} calls per update, "
          f"one-process update {step:.2f} s (sd {sigma:.2f} s, {one['updates']} updates)")
    print(f"  {'network':18} {'F':>2} {'N':>3} {'all-reduce s':>12} {'wait s':>7} {'share':>6} {'speed-up':>9}"
          f" {'fp16 speed-up':>13} {'overlap speed-up':>16}")
    for name, bandwidth, latency in NETWORKS:
        for frequency in (1, 4):
            for n in (8, 64):
                def update_time(bytes_, hidden=0.0):
                    reduce = 2 * (n - 1) / n * bytes_ / bandwidth + calls * 2 * (n - 1) * latency
                    wait = sigma * frequency ** 0.5 * EXPECTED_MAX[n]
                    # Overlap can hide the all-reduce behind the last batch's backward (~2/3 of its step).
                    return frequency * step + wait + max(0.0, reduce - hidden), reduce, wait
                total, reduce, wait = update_time(size)
                fp16, _, _ = update_time(size / 2)
                overlapped, _, _ = update_time(size, hidden=2 / 3 * step)
                speed = lambda t: n * frequency * step / t
                print(f"  {name:18} {frequency:2} {n:3} {reduce:12.3f} {wait:7.3f} {100 * reduce / total:5.1f}%"
                      f" {speed(total):9.1f} {speed(fp16):13.1f} {speed(overlapped):16.1f}")
