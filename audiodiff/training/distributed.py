"""Multi-process training (``torchrun``) helpers on top of ``speechbrain.utils.distributed``.

SpeechBrain does the heavy lifting: ``ddp_init_group`` joins the process group, ``Brain``
wraps the trained modules in DDP and gives the training set a ``DistributedSampler``, the
checkpointer and ``FileTrainLogger`` write on the main process only, and ``run_on_main`` /
``if_main_process`` / ``ddp_barrier`` / ``ddp_all_reduce`` cover the rest. What this module
adds are the few collective decisions a diffusion Brain needs every process to take alike
(the time budget, a loss to log), a per-process random stream, and the "main process builds
the cache, the others read it" pattern for functions that compute-or-load a cache.

Every function here is a no-op (or the identity) in a single process, so recipes call them
unconditionally.

A trap to know: SpeechBrain's main-process-only functions (``FileTrainLogger.log_stats``, the
checkpointer's save hooks, anything decorated with ``main_process_only``) broadcast their
result, so they are collectives: called from the main process alone inside
``if if_main_process():`` they wait for the others forever. Put such work in a function and
call it with ``run_on_main`` (inside it they do not communicate); keep ``if_main_process()``
for plain file writes.
"""

import atexit
import gc

import torch
from speechbrain.utils.distributed import (
    ddp_all_reduce,
    ddp_barrier,
    ddp_init_group,
    get_rank,
    if_main_process,
    is_distributed_initialized,
)


def join_process_group(run_opts):
    """SpeechBrain's ``ddp_init_group`` (under ``torchrun``: join the process group; else
    nothing), and on exit the group destroyed while the interpreter is still whole.

    Otherwise the process group (held by DDP-wrapped modules in the Brain's reference cycles)
    is destroyed only during interpreter finalisation, with gloo's threads still running, and
    the process sometimes aborts after a successful run ("terminate called without an active
    exception", exit code -6: 3 of 19 runs of the 2-process SC09 test here; 0 of 30 with this
    exit handler, which collects garbage, then destroys the group).

    Arguments
    ---------
    run_opts : dict
        SpeechBrain's run options (``distributed_backend`` among them).

    Example
    -------
    >>> join_process_group({"distributed_backend": "gloo"})  # no torchrun: nothing to join
    >>> is_distributed_initialized()
    False
    """
    ddp_init_group(run_opts)
    if is_distributed_initialized():
        atexit.register(_destroy_process_group)


def _destroy_process_group():
    # collect first: a Brain and its DDP-wrapped modules sit in reference cycles that hold the
    # process group, which finalisation would otherwise destroy with its threads still running
    gc.collect()
    if is_distributed_initialized():
        torch.distributed.destroy_process_group()
    gc.collect()


def world_size():
    """Number of processes training together (1 without ``torchrun``).

    Example
    -------
    >>> world_size()
    1
    """
    return torch.distributed.get_world_size() if is_distributed_initialized() else 1


def process_rank():
    """This process's rank in the group (0 without ``torchrun``).

    Example
    -------
    >>> process_rank()
    0
    """
    return (get_rank() or 0) if is_distributed_initialized() else 0


def _reduce(value, op, device):
    """``value`` (a number) reduced over every process with ``op``, as a float (on ``device``
    for NCCL, which reduces CUDA tensors only; on the CPU for gloo)."""
    if is_distributed_initialized() and torch.distributed.get_backend() != "nccl":
        device = "cpu"
    tensor = torch.tensor(float(value), dtype=torch.float64, device=device)
    return float(ddp_all_reduce(tensor, op))


def max_across_processes(value, device="cpu"):
    """The largest ``value`` of all processes (a collective: every process must call it).

    Arguments
    ---------
    value : float
        This process's value.
    device : str or torch.device
        Where the reduction runs (the training device: NCCL reduces CUDA tensors only).

    Returns
    -------
    float

    Example
    -------
    >>> max_across_processes(2.5)
    2.5
    """
    return _reduce(value, torch.distributed.ReduceOp.MAX, device)


def mean_across_processes(value, device="cpu"):
    """The mean of ``value`` over all processes (a collective; gloo has no AVG: SUM / N).

    Arguments
    ---------
    value : float
        This process's value (e.g. its average training loss).
    device : str or torch.device
        Where the reduction runs.

    Returns
    -------
    float

    Example
    -------
    >>> mean_across_processes(0.25)
    0.25
    """
    if not is_distributed_initialized():
        return float(value)
    return _reduce(value, torch.distributed.ReduceOp.SUM, device) / world_size()


def seed_process(seed):
    """Give each process its own global random stream: rank r is seeded ``seed + r``.

    SpeechBrain seeds every process alike (so that modules are built identically); called
    once the modules exist, this makes the diffusion steps t, the noise, condition dropout
    and random crops drawn from torch's global generator differ between processes, so that N
    processes see N independent draws, not N copies of one. Rank 0 keeps ``seed`` unchanged
    (its stream is the single-process run's). Nothing happens without ``torchrun``.

    Arguments
    ---------
    seed : int
        The recipe's seed.

    Returns
    -------
    int or None
        The seed set, or None when nothing was done (one process, or rank 0).

    Example
    -------
    >>> seed_process(1986) is None
    True
    """
    rank = process_rank()
    if rank == 0:
        return None
    torch.manual_seed(int(seed) + rank)  # every device's generator, CUDA included
    return int(seed) + rank


def main_process_first(func, *args, **kwargs):
    """``func(*args, **kwargs)`` on every process, the main process first.

    For functions that compute-or-load a cache (``compute_features``, ``load_waveforms``,
    ``split_clips``, ...): the main process computes it and writes the file while the others
    wait at ``ddp_barrier``; then they call ``func`` too and read the file. Each process gets
    its own return value (nothing is pickled between processes, unlike ``run_on_main``'s
    broadcast result), and no two processes write one file at once.

    Arguments
    ---------
    func : callable
        The function.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    What ``func`` returned on this process.

    Example
    -------
    >>> main_process_first(sorted, [3, 1, 2])
    [1, 2, 3]
    """
    result = func(*args, **kwargs) if if_main_process() else None
    ddp_barrier()
    if not if_main_process():
        result = func(*args, **kwargs)
    return result


def check_batchnorm_device(modules, device):
    """Stop with one line where DDP would need SyncBatchNorm on the CPU.

    Under ``torchrun`` SpeechBrain converts every BatchNorm layer to ``SyncBatchNorm``, which
    torch runs on GPUs only: a recipe whose networks have BatchNorm (the evaluation
    classifier, ECAPA-TDNN) would fail in DDP's constructor with a traceback on the CPU.

    Arguments
    ---------
    modules : mapping of str to torch.nn.Module
        The Brain's modules.
    device : str or torch.device
        The Brain's device.

    Raises
    ------
    SystemExit
        ``error: ...`` on the CPU under ``torchrun`` when a module has BatchNorm layers.

    Example
    -------
    >>> check_batchnorm_device({"net": torch.nn.BatchNorm1d(2)}, "cpu")  # one process: fine
    """
    if not is_distributed_initialized() or torch.device(device).type != "cpu":
        return
    batchnorm = torch.nn.modules.batchnorm._BatchNorm
    names = [n for n, m in modules.items() if any(isinstance(x, batchnorm) for x in m.modules())]
    if names:
        raise SystemExit(
            f"error: {', '.join(names)} has BatchNorm layers, which DDP turns into "
            "SyncBatchNorm, and torch runs SyncBatchNorm on GPUs only: train this recipe "
            "under torchrun on GPUs (nccl), or in a single process on the CPU"
        )
