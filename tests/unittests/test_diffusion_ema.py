"""Tests of audiodiff.diffusion.ema."""

import torch

from audiodiff.diffusion import EMA


def _set(model, value):
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def test_ema_closed_form():
    model = torch.nn.Linear(3, 2)
    _set(model, 1.0)
    ema = EMA(model, decay=0.9)
    assert all(not p.requires_grad for p in ema.averaged.parameters())
    assert not ema.averaged.training
    _set(model, 2.0)
    ema.update(model)
    _set(model, 4.0)
    ema.update(model)
    # a1 = 0.9 * 1 + 0.1 * 2 = 1.1; a2 = 0.9 * 1.1 + 0.1 * 4 = 1.39
    for p in ema.averaged.parameters():
        torch.testing.assert_close(p, torch.full_like(p, 1.39))
    assert int(ema.num_updates) == 2
    # The model itself is untouched and still trainable.
    assert all(p.requires_grad and bool((p == 4.0).all()) for p in model.parameters())


def test_ema_warmup_ramp():
    model = torch.nn.Linear(2, 2)
    _set(model, 0.0)
    ema = EMA(model, decay=0.99, warmup_steps=2)
    decays = []
    for _ in range(3):
        decays.append(float(ema.current_decay()))
        _set(model, 1.0)
        ema.update(model)
    # min(0.99, (1 + n) / (10 + n)) for n = 0, 1, then 0.99.
    torch.testing.assert_close(torch.tensor(decays), torch.tensor([0.1, 2 / 11, 0.99]))
    expected = 1 - 0.1 * (2 / 11) * 0.99  # distance to 1 shrinks by each decay
    for p in ema.averaged.parameters():
        torch.testing.assert_close(p, torch.full_like(p, expected))


def test_ema_copies_buffers_and_stays_eval():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(model, decay=0.5)
    model.train()
    model(torch.randn(8, 2) * 3 + 1)
    ema.update(model)
    torch.testing.assert_close(ema.averaged[1].running_mean, model[1].running_mean)
    ema.train()
    assert ema.training and not ema.averaged.training
    out = ema(torch.zeros(4, 2))
    torch.testing.assert_close(out, ema.averaged(torch.zeros(4, 2)))


def test_ema_state_dict_round_trip():
    model = torch.nn.Linear(3, 3)
    ema = EMA(model, decay=0.9)
    _set(model, 5.0)
    ema.update(model)
    restored = EMA(torch.nn.Linear(3, 3), decay=0.9)
    restored.load_state_dict(ema.state_dict())
    assert set(ema.state_dict()) == {"averaged.weight", "averaged.bias", "num_updates"}
    assert int(restored.num_updates) == 1
    for a, b in zip(restored.averaged.parameters(), ema.averaged.parameters()):
        torch.testing.assert_close(a, b)
