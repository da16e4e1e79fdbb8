"""Tests of audiodiff.training.tts: losses of every route, output lengths that follow the text,
guidance branches, batching."""

import math

import pytest
import torch

from audiodiff.audio import SpectrogramNormalizer
from audiodiff.diffusion import make_schedule
from audiodiff.nets import (
    DiffusionTTS,
    DurationPredictor,
    EmbeddingAdapter,
    LengthPredictor,
    MelContentEncoder,
    ReferenceEncoder,
    SentenceEncoder,
    SpeakerTable,
    SpectrogramUNet,
    TextEncoder,
    TTSDecoder,
)
from audiodiff.training.tts import (
    BucketBatchSampler,
    TTSDataset,
    TTSInputError,
    collate_tts,
    content_for_synthesis,
    sample_tts,
    tts_losses,
)

N_MELS = 8


def make_model(route, source="table"):
    unet = SpectrogramUNet(
        in_channels=3,
        base_channels=8,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_levels=(1,),
        num_heads=2,
        cond_drop_prob=0.0,
        context_dim=8,
    )
    speaker = SpeakerTable(3, 4) if source == "table" else ReferenceEncoder(N_MELS, 4, 8, 1)
    parts = {}
    if route == "phoneme":
        parts = dict(
            text_encoder=TextEncoder(10, 16, 1, 2, out_dim=N_MELS, cond_dim=4),
            duration_predictor=DurationPredictor(16, 8, cond_dim=4),
        )
    elif route == "sentence":
        parts = dict(
            sentence_encoder=SentenceEncoder(10, 16, 6, 1),
            content_adapter=EmbeddingAdapter(6, 8, 2),
            length_predictor=LengthPredictor(6, 4, init_frames=12.0),
        )
    else:
        parts = dict(content_encoder=MelContentEncoder(N_MELS, 8, 2, 1, num_speakers=3))
    return DiffusionTTS(
        route, TTSDecoder(unet), EmbeddingAdapter(4, 8, 2), source, speaker, **parts
    )


def make_batch():
    g = torch.Generator().manual_seed(0)
    items = []
    for i, (frames, tokens) in enumerate(
        [(9, [1, 3, 4, 1]), (14, [1, 5, 6, 7, 2, 1]), (11, [1, 8, 1])]
    ):
        items.append(
            {
                "mel_db": -60 + 20 * torch.randn(N_MELS, frames, generator=g),
                "speaker": i % 2,
                "tokens": torch.tensor(tokens),
                "id": str(i),
                "text": "x",
            }
        )
    data = TTSDataset(items, max_reference_frames=8)
    return collate_tts([data[i] for i in range(len(items))])


@pytest.fixture(scope="module")
def normalizer():
    return SpectrogramNormalizer(-100.0, 0.0)


@pytest.mark.parametrize(
    "route, expected",
    [
        ("phoneme", {"diffusion", "prior", "duration"}),
        ("sentence", {"diffusion", "length"}),
        ("spectrogram", {"diffusion", "adversarial"}),
    ],
)
@pytest.mark.parametrize("source", ["table", "reference"])
def test_losses_of_every_route_backpropagate(route, expected, source, normalizer):
    torch.manual_seed(0)
    model = make_model(route, source).train()
    losses = tts_losses(
        model,
        make_batch(),
        normalizer=normalizer,
        schedule=make_schedule("cosine", 50),
        prediction="v",
        adversarial=route == "spectrogram",
    )
    assert set(losses) == expected
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_prior_loss_of_a_perfect_prior_is_the_gaussian_constant(normalizer):
    from audiodiff.training.tts import prior_loss

    y = torch.randn(2, 3, 5)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    assert float(prior_loss(y, y, mask)) == pytest.approx(0.5 * math.log(2 * math.pi))


def fixed_duration_model(frames_per_token):
    model = make_model("phoneme").eval()
    proj = model.duration_predictor.proj
    torch.nn.init.zeros_(proj.weight)
    torch.nn.init.constant_(proj.bias, math.log(frames_per_token))
    return model


def test_output_length_follows_the_text():
    model = fixed_duration_model(3)
    tokens = torch.tensor([[1, 3, 1, 0, 0, 0], [1, 3, 4, 5, 6, 1]])
    spk = model.speaker_vector(speaker=torch.tensor([0, 1]))
    cond, frames = content_for_synthesis(model, spk, tokens=tokens)
    assert frames.tolist() == [9, 18]  # 3 frames per token, <sil> included
    assert cond["content_map"].shape == (2, N_MELS, 18)
    assert cond["frame_mask"].sum(-1).tolist() == [9, 18]
    _, slower = content_for_synthesis(model, spk, tokens=tokens, length_scale=2.0)
    assert slower.tolist() == [18, 36]
    mels = sample_tts(
        model,
        make_schedule("cosine", 50),
        cond,
        frames,
        n_mels=N_MELS,
        steps=2,
        guidance_scale=2.0,
        speaker_guidance_scale=3.0,
    )
    assert [m.shape for m in mels] == [(N_MELS, 9), (N_MELS, 18)]


def test_too_long_output_is_refused():
    model = fixed_duration_model(3)
    spk = model.speaker_vector(speaker=torch.tensor([0]))
    with pytest.raises(TTSInputError, match="at most 10"):
        content_for_synthesis(model, spk, tokens=torch.tensor([[1, 3, 4, 1]]), max_frames=10)


def test_conversion_keeps_the_source_length():
    model = make_model("spectrogram").eval()
    spk = model.speaker_vector(speaker=torch.tensor([0, 2]))
    source = torch.randn(2, N_MELS, 15)
    _, frames = content_for_synthesis(
        model, spk, source_mel=source, source_frames=torch.tensor([15, 7])
    )
    assert frames.tolist() == [15, 7]


def test_sentence_length_comes_from_the_predictor():
    model = make_model("sentence").eval()
    spk = model.speaker_vector(speaker=torch.tensor([0]))
    _, frames = content_for_synthesis(model, spk, tokens=torch.tensor([[1, 3, 4, 1]]))
    assert frames.tolist() == [12]  # init_frames of the untrained predictor


def test_dataset_reference_is_another_utterance_of_the_speaker():
    items = [
        {"mel_db": torch.full((2, 3), float(i)), "speaker": s, "id": str(i), "text": "a"}
        for i, s in enumerate([0, 0, 0, 1])
    ]
    data = TTSDataset(items)
    for _ in range(20):
        item = data[1]
        assert item["reference"] in {"0", "2"}
    assert data[3]["reference"] == "3"  # the only utterance of its speaker


def test_bucket_sampler_covers_everything_with_little_padding():
    lengths = list(range(1, 101))
    sampler = BucketBatchSampler(lengths, batch_size=10, pool_batches=10, seed=1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(100))
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert max(spread) == 9  # one pool holds everything: consecutive lengths per batch
    assert list(sampler) != batches  # a new order each epoch
