"""DiffusionBrain under SpeechBrain's DDP: 2 processes on the CPU (torchrun, gloo).

``distributed_worker.py`` trains a tiny denoiser in each process with clocks that disagree
(rank 1's runs 30% fast); this test checks what each process wrote: both stopped at the
same optimizer step (the step the faster clock reaches the budget), their EMA and network
weights are identical, they trained on disjoint shards with their own random streams, and
only the main process wrote samples, once.
"""

import glob
import os
import subprocess

import pytest
import torch

from audiodiff.training.distributed import (
    main_process_first,
    max_across_processes,
    mean_across_processes,
    process_rank,
    seed_process,
    world_size,
)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")


def test_single_process_helpers_are_identities():
    assert (world_size(), process_rank()) == (1, 0)
    assert max_across_processes(1.5) == 1.5 and mean_across_processes(2.0) == 2.0
    state = torch.random.get_rng_state()
    assert seed_process(3) is None  # rank 0 / one process: the stream is left alone
    assert torch.equal(state, torch.random.get_rng_state())
    calls = []
    assert main_process_first(lambda x: calls.append(x) or x + 1, 1) == 2 and calls == [1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, torchrun):
    out = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [*torchrun(2), WORKER, str(out)],
        capture_output=True,
        text=True,
        timeout=300,  # a budget decided per process would hang in DDP's all-reduce instead
        env=env,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return out, [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


def test_budget_stops_every_process_at_the_same_step(ddp_run):
    _, (r0, r1) = ddp_run
    # rank 1's clock: 0.013 min/step > 0.1 min after 8 steps (rank 0's alone: after 11)
    assert r0["optimizer_step"] == r1["optimizer_step"] == 8
    assert r0["minutes"] == pytest.approx(0.104) and r1["minutes"] == pytest.approx(0.104)
    assert r0["epoch"] == r1["epoch"] == 1


def test_ema_and_weights_are_identical_on_every_process(ddp_run):
    _, (r0, r1) = ddp_run
    torch.testing.assert_close(r0["ema"], r1["ema"], rtol=0, atol=0)
    torch.testing.assert_close(r0["model"], r1["model"], rtol=0, atol=0)
    assert int(r0["ema"]["num_updates"]) == 8  # once per optimizer step
    # the average lags the trained weights (it was updated, not copied)
    ema_w, w = r0["ema"]["averaged.conv.weight"], r0["model"]["conv.weight"]
    assert not torch.allclose(ema_w, w)


def test_processes_train_on_disjoint_shards_with_their_own_random_streams(ddp_run):
    _, (r0, r1) = ddp_run
    assert len(r0["seen"]) == len(r1["seen"]) == 8 * 4
    assert not set(r0["seen"]) & set(r1["seen"])
    assert r0["first_draw"] != r1["first_draw"]


def test_samples_and_checkpoint_written_once(ddp_run):
    out, (r0, r1) = ddp_run
    assert r0["sampled_epochs"] == [1] and r1["sampled_epochs"] == []
    assert len(glob.glob(str(out / "save" / "CKPT+*"))) == 1
    log = (out / "train_log.txt").read_text()
    assert log.count("epoch: 1,") == 1 and "epoch: 2" not in log, log
