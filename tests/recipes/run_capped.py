"""Run a recipe script under an address-space cap and report its peak resident memory.

``python run_capped.py CAP_GIB SCRIPT ARGS...`` sets ``RLIMIT_AS`` (so a run that would need
more memory fails with a MemoryError here instead of being OOM-killed or swapping the
machine), runs SCRIPT as ``__main__`` with ARGS, and prints ``PEAK_RSS_MIB=<n>`` on stderr
when it ends: the largest resident set of this process and of its reaped children (feature
worker processes).
"""

import atexit
import resource
import runpy
import sys


def report():
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(f"PEAK_RSS_MIB={peak_kib // 1024}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    cap = int(float(sys.argv[1]) * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    atexit.register(report)
    script = sys.argv[2]
    sys.argv = sys.argv[2:]
    sys.path.insert(0, ".")
    runpy.run_path(script, run_name="__main__")
