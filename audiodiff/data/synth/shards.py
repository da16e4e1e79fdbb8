"""Runs corpus shards in fresh processes, ``workers`` at a time, for byte-identical output.

eSpeak NG's waveform depends on the library's process-global state (what it synthesised
before, and the C random generator its noise sources use), so a corpus is only reproducible
when every shard starts from a fresh process. Each shard here is one ``python`` subprocess
running ``worker.main``; threads only wait for them. The subprocess loads ``audiodiff`` and the
synth modules without running ``audiodiff/data/__init__.py`` (which imports torch: slow to
start, and torch's start-up disturbs the C random state), see ``_BOOTSTRAP``.

Shards are fixed by the data (one per speaker, or fixed chunks of sentences), never by the
number of workers, so ``--workers 1`` and ``--workers 8`` write the same bytes.
"""

import concurrent.futures
import json
import os
import subprocess
import sys

import audiodiff

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(audiodiff.__file__)))

# Register audiodiff.data and audiodiff.data.synth as bare packages (their __path__ only), so
# importing audiodiff.data.synth.worker runs neither package's __init__ (and no torch).
_BOOTSTRAP = """
import os, sys, types
import audiodiff
data = os.path.join(os.path.dirname(audiodiff.__file__), "data")
for name, path in (("audiodiff.data", data), ("audiodiff.data.synth", os.path.join(data, "synth"))):
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
from audiodiff.data.synth.worker import main
sys.exit(main())
"""


class ShardError(RuntimeError):
    """A shard's worker process failed; the message holds its error output."""


def _run_one(shard):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _BOOTSTRAP],
        input=json.dumps(shard),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        name = shard.get("name", "?")
        raise ShardError(f"shard {name} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def run_shards(shards, workers=1, on_done=None):
    """Renders shards, each in a fresh worker process, ``workers`` processes at a time.

    Arguments
    ---------
    shards : list of dict
        ``{"name": str, "items": [item, ...]}`` (items as in ``worker``).
    workers : int
        Processes running at once (>= 1).
    on_done : callable, optional
        Called as ``on_done(shard, result)`` in the calling thread when a shard finishes
        (e.g. to advance a progress bar).

    Returns
    -------
    list of dict
        One result per shard, in the order of ``shards``: ``{"results": [...], ...}``.

    Raises
    ------
    ShardError
        If a worker fails (the other shards are cancelled).

    Example
    -------
    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> item = {"text": "one", "voice": {"accent": "en"}, "out": out, "sample_rate": 16000}
    >>> result = run_shards([{"name": "s0", "items": [item]}])[0]
    >>> result["results"][0]["sample_rate"], result["torch_loaded"]
    (16000, False)
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    results = [None] * len(shards)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_one, shard): i for i, shard in enumerate(shards)}
        try:
            for future in concurrent.futures.as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                if on_done is not None:
                    on_done(shards[index], results[index])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results
