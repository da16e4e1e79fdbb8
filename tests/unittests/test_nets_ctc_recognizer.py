"""CTCRecognizer (shapes, padding, that it can learn a CTC task) and CharacterVocabulary."""

import pytest
import torch
from speechbrain.decoders import ctc_greedy_decode
from speechbrain.nnet.losses import ctc_loss

from audiodiff.nets import CharacterVocabulary, CTCRecognizer
from audiodiff.nets.tokenizers import TokenizationError


def tiny(**kwargs):
    torch.manual_seed(0)
    options = dict(n_mels=6, vocab_size=5, conv_channels=12, hidden_dim=8, num_layers=2)
    return CTCRecognizer(**{**options, **kwargs, "dropout": 0.0}).eval()


@pytest.mark.parametrize("subsampling, frames, expected", [(1, 9, 9), (2, 9, 5), (3, 9, 3)])
def test_output_frames_follow_the_subsampling(subsampling, frames, expected):
    model = tiny(subsampling=subsampling)
    out = model(torch.randn(1, 6, frames))
    assert out.shape == (1, expected, 5) and model.output_frames(frames) == expected


def test_padding_does_not_change_an_item():
    model = tiny()
    short = torch.randn(1, 6, 20)
    alone = model(short)
    padded = torch.cat([short, 50 * torch.randn(1, 6, 20)], dim=-1)  # junk in the padding
    batch = torch.cat([padded, torch.randn(1, 6, 40)])
    together = model(batch, torch.tensor([0.5, 1.0]))
    assert torch.allclose(together[0, :10], alone[0], atol=1e-5)  # its 10 output frames
    assert not torch.allclose(model(batch)[0, :10], alone[0], atol=1e-3)  # unmasked: differs


def test_learns_a_toy_ctc_task():
    """Two fixed 'utterances' -> 'AB' and 'BA': CTC training makes greedy decoding exact."""
    model = tiny()
    model.train()
    feats = torch.randn(2, 6, 16)
    targets = torch.tensor([[3, 4], [4, 3]])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    ones = torch.ones(2)
    for _ in range(80):
        loss = ctc_loss(model(feats), targets, ones, ones, blank_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert ctc_greedy_decode(model(feats), ones, blank_id=0) == [[3, 4], [4, 3]]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="odd"):
        CTCRecognizer(kernel_size=4)
    with pytest.raises(ValueError, match="subsampling"):
        CTCRecognizer(subsampling=0)


def test_vocabulary_round_trip_and_errors():
    vocab = CharacterVocabulary()
    ids = vocab.encode("  Don't  stop, now! ")
    assert vocab.decode(ids.tolist()) == "DON'T STOP NOW"
    assert vocab.decode([0, 1, 3, 0, 1, 1, 4, 1]) == "A B"  # blanks dropped, spaces collapsed
    with pytest.raises(TokenizationError, match="'1', 'É'"):
        vocab.encode("café 1")
    with pytest.raises(TokenizationError, match="no words"):
        vocab.encode("?!")
    with pytest.raises(ValueError, match="space"):
        CharacterVocabulary("AB")
