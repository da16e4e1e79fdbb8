import pytest
import torch

from audiodiff.audio.normalization import SpectrogramNormalizer


def _db(seed=0, shape=(16, 80, 64)):
    g = torch.Generator().manual_seed(seed)
    return -40.0 + 10.0 * torch.randn(shape, generator=g)


def test_fit_uses_robust_percentiles():
    db = _db()
    norm = SpectrogramNormalizer().fit(db)
    q = torch.quantile(db.flatten(), torch.tensor([0.005, 0.995]))
    torch.testing.assert_close(norm.low_db, q[0])
    torch.testing.assert_close(norm.high_db, q[1])
    # gaussian: 0.5 / 99.5 percentiles are mean -/+ 2.576 sigma
    assert norm.low_db.item() == pytest.approx(-40 - 2.576 * 10, abs=0.5)
    assert norm.high_db.item() == pytest.approx(-40 + 2.576 * 10, abs=0.5)


def test_floor_values_are_ignored_and_iterables_accepted():
    db = _db()
    padded = torch.cat([db, torch.full((16, 80, 64), -100.0)], dim=-1)
    a = SpectrogramNormalizer().fit(db)
    b = SpectrogramNormalizer().fit(list(padded.split(4)))
    torch.testing.assert_close(a.state_dict(), b.state_dict())
    c = SpectrogramNormalizer().fit(padded, floor=float("-inf"))
    assert c.low_db.item() == -100.0


def test_normalize_denormalize_round_trip():
    db = _db()
    norm = SpectrogramNormalizer().fit(db)
    x = norm.normalize(db)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    inside = (db >= norm.low_db) & (db <= norm.high_db)
    assert inside.float().mean().item() == pytest.approx(0.99, abs=0.002)
    torch.testing.assert_close(norm.denormalize(x)[inside], db[inside], atol=1e-4, rtol=0)
    torch.testing.assert_close(
        norm.denormalize(torch.tensor([-1.0, 0.0, 1.0, 5.0])),
        torch.stack([norm.low_db, (norm.low_db + norm.high_db) / 2, norm.high_db, norm.high_db]),
    )


def test_given_range():
    norm = SpectrogramNormalizer(low_db=-80.0, high_db=0.0)
    assert norm.is_fitted
    torch.testing.assert_close(
        norm.normalize(torch.tensor([-100.0, -80.0, -40.0, 0.0, 10.0])),
        torch.tensor([-1.0, -1.0, 0.0, 1.0, 1.0]),
    )


def test_state_dict_round_trip():
    norm = SpectrogramNormalizer().fit(_db())
    state = norm.state_dict()
    assert set(state) == {"low_db", "high_db"}
    restored = SpectrogramNormalizer()
    assert not restored.is_fitted
    restored.load_state_dict(state)
    assert restored.is_fitted
    db = _db(seed=1)
    torch.testing.assert_close(restored.normalize(db), norm.normalize(db))


def test_unfitted_raises():
    norm = SpectrogramNormalizer()
    assert not norm.is_fitted
    for method in (norm.normalize, norm.denormalize):
        with pytest.raises(RuntimeError, match="normalizer not fitted"):
            method(torch.zeros(2))
    with pytest.raises(ValueError):
        norm.fit(torch.full((3,), -100.0))
