"""Speaker metrics: EER against SpeechBrain's, identification, similarity through an encoder."""

import pytest
import torch
from speechbrain.utils.metric_stats import EER

from audiodiff.inference import StyleEncoder, StyleEncoderInputError
from audiodiff.metrics import (
    closest_speaker,
    equal_error_rate,
    identification_rate,
    speaker_similarity,
    trial_scores,
    verification_report,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eer_matches_speechbrain(seed):
    g = torch.Generator().manual_seed(seed)
    positive = (torch.randn(60, generator=g) + 1.0).round(decimals=1)  # ties on purpose
    negative = torch.randn(150, generator=g).round(decimals=1)
    eer, threshold = equal_error_rate(positive, negative)
    ref_eer, ref_threshold = EER(positive, negative)
    assert eer == pytest.approx(ref_eer, abs=1e-6) and threshold == pytest.approx(ref_threshold)
    assert 0.1 < eer < 0.5


def test_eer_extremes():
    assert equal_error_rate(torch.tensor([0.9, 0.8]), torch.tensor([0.1, 0.2]))[0] == 0.0
    assert equal_error_rate(torch.tensor([0.1, 0.2]), torch.tensor([0.9, 0.8]))[0] == 1.0
    g = torch.Generator().manual_seed(0)
    same = equal_error_rate(torch.rand(4000, generator=g), torch.rand(4000, generator=g))[0]
    assert same == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ValueError):
        equal_error_rate(torch.tensor([]), torch.tensor([0.1]))


def clusters(num_speakers=5, per=6, spread=0.1, dim=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_speakers, dim, generator=g)
    emb = centres.repeat_interleave(per, 0) + spread * torch.randn(
        num_speakers * per, dim, generator=g
    )
    return emb, [f"spk{i // per}" for i in range(num_speakers * per)]


def test_trial_scores_pair_counts_and_values():
    emb, speakers = clusters(num_speakers=3, per=4)
    positive, negative = trial_scores(emb, speakers)
    assert positive.numel() == 3 * 6 and negative.numel() == 3 * 4 * 4
    normed = torch.nn.functional.normalize(emb, dim=-1)
    assert float(positive.max()) <= 1.0 + 1e-6
    torch.testing.assert_close(positive[0], normed[0] @ normed[1])  # pairs in row-major order
    torch.testing.assert_close(negative[0], normed[0] @ normed[4])
    with pytest.raises(ValueError):
        trial_scores(emb, speakers[:-1])


def test_identification_of_clean_and_of_random_embeddings():
    emb, speakers = clusters(spread=0.1)
    assert identification_rate(emb, speakers, enrol_per_speaker=2, draws=5)["rate"] == 1.0
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(200, 64, generator=g)
    random_speakers = [f"s{i % 4}" for i in range(200)]
    chance = identification_rate(noise, random_speakers, enrol_per_speaker=3, draws=20)
    assert chance["rate"] == pytest.approx(0.25, abs=0.08)  # chance among 4 speakers
    assert chance["num_tests"] == 200 - 4 * 3 and chance["num_speakers"] == 4
    with pytest.raises(ValueError, match="two speakers"):
        identification_rate(emb[:6], speakers[:6])


def test_verification_report_separates_clusters():
    emb, speakers = clusters(spread=0.2)
    report = verification_report(emb, speakers, draws=3)
    assert report["eer"] == 0.0 and report["identification_rate"] == 1.0
    assert report["same_speaker_cosine"] > report["different_speaker_cosine"] + 0.5
    assert report["num_same_trials"] == 5 * 15 and report["num_utterances"] == 30
    noisy = verification_report(*clusters(spread=3.0), draws=3)
    assert 0.05 < noisy["eer"] < 0.6 and noisy["identification_rate"] < 1.0


class Spectrum(StyleEncoder):
    """A toy encoder: the normalised magnitude spectrum in 16 bands (a 'voice' = a timbre)."""

    sample_rate, embedding_dim = 8000, 16

    def forward(self, wav, lengths=None):
        spec = torch.fft.rfft(wav, n=512).abs()[:, :256]
        return torch.nn.functional.normalize(spec.reshape(len(wav), 16, 16).mean(-1), dim=-1)


def voice(freq, seconds=1.0, sr=8000, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sr)) / sr
    return 0.5 * torch.sin(2 * torch.pi * freq * t) + 0.01 * torch.randn(len(t), generator=g)


def test_speaker_similarity_and_closest_speaker_through_an_encoder(tmp_path):
    from audiodiff.audio import write_audio

    encoder = Spectrum()
    low, high = voice(300), voice(2500)
    write_audio(tmp_path / "low.wav", voice(300, seed=1), 8000)
    similarity = speaker_similarity(encoder, [low, high], [str(tmp_path / "low.wav"), low])
    assert similarity[0] > 0.99 and similarity[1] < 0.5
    enrolment = {"low": [voice(310, seed=2)], "high": [voice(2450, seed=3), voice(2550, seed=4)]}
    predictions, scores = closest_speaker(
        encoder, [high, low, voice(2600, seed=5)], enrolment, return_scores=True
    )
    assert predictions == ["high", "low", "high"] and scores.shape == (3, 2)
    # waveforms at another rate (all of them: clips and enrolment) are resampled first
    import torchaudio

    up = {
        k: [torchaudio.functional.resample(w, 8000, 16000) for w in v] for k, v in enrolment.items()
    }
    assert closest_speaker(encoder, up["high"], up, sample_rate=16000) == ["high", "high"]


def test_generated_clips_are_not_checked_but_references_are():
    encoder = Spectrum()
    silent = torch.zeros(8000)
    assert speaker_similarity(encoder, [silent], [voice(300)]).shape == (1,)  # scored
    with pytest.raises(StyleEncoderInputError, match="silent"):
        speaker_similarity(encoder, [voice(300)], [silent])
    with pytest.raises(StyleEncoderInputError, match="silent"):
        closest_speaker(encoder, [voice(300)], {"a": [silent]})
    with pytest.raises(ValueError, match="references"):
        speaker_similarity(encoder, [silent, silent], [voice(300)])
    with pytest.raises(ValueError, match="no enrolment"):
        closest_speaker(encoder, [silent], {"a": []})
