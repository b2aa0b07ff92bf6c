#!/usr/bin/python3
"""vmalloc-sample.py FILE [HZ] — samples VmallocUsed (kB, /proc/meminfo) HZ times a second
(default 200) until SIGTERM, then writes "monotonic_s kB" lines to FILE. Samples are kept in
memory meanwhile, so that the sampler does no I/O during the burst it watches."""
import signal
import sys
import time

out, hz = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 200.0
period = 1.0 / hz
samples = []
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
with open("/proc/meminfo", "rb", buffering=0) as f:
    next_t = time.monotonic()
    while running:
        f.seek(0)
        data = f.read(4096)
        i = data.index(b"VmallocUsed:")
        samples.append((time.monotonic(), int(data[i + 12:data.index(b"kB", i)])))
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t = time.monotonic()
with open(out, "w") as f:
    f.writelines(f"{t:.4f} {kb}\n" for t, kb in samples)
