"""Speaker metrics: verification EER, closest-speaker identification, speaker similarity.

On embeddings (any speaker-verification embedding, compared by cosine):

- ``trial_scores``: cosines of every same-speaker and every different-speaker pair;
- ``equal_error_rate``: the EER of those trials (SpeechBrain's definition, vectorised);
- ``identification_rate``: enrol each speaker with a few utterances (the normalised mean of
  their embeddings), assign every other utterance to the closest enrolled speaker;
- ``verification_report``: all of the above in one JSON-ready dict.

On audio, through a style encoder (``audiodiff.inference.StyleEncoder``: anything with
``embed_many(items, sample_rate=None, check=True)``):

- ``speaker_similarity(encoder, generated, references)``: cosine of each generated clip with
  its reference (the zero-shot TTS metric, as in F5-TTS's SIM);
- ``closest_speaker(encoder, wavs, enrolment)``: the enrolled speaker each clip is closest to.

Audio items are file paths or 1-D waveforms (at ``sample_rate``, default the encoder's).
Generated clips are embedded as they are (``check=False``: a silent output is scored, not
refused); references and enrolment clips must pass the encoder's input checks.
"""

import torch
import torch.nn.functional as F


def equal_error_rate(positive_scores, negative_scores):
    """Equal error rate and its threshold (as ``speechbrain.utils.metric_stats.EER``).

    Candidate thresholds are the unique scores and the midpoints between neighbours; at each,
    FRR = share of positive scores <= threshold and FAR = share of negative scores above it.
    The threshold where they are closest wins; EER = (FAR + FRR) / 2 there.

    Arguments
    ---------
    positive_scores : torch.Tensor
        [P] scores of same-class trials.
    negative_scores : torch.Tensor
        [N] scores of different-class trials.

    Returns
    -------
    eer : float
        In [0, 1].
    threshold : float
        The score threshold reaching it.

    Example
    -------
    >>> equal_error_rate(torch.tensor([0.6, 0.7, 0.8, 0.5]), torch.tensor([0.4, 0.3, 0.2, 0.1]))
    (0.0, 0.4000000059604645)
    >>> equal_error_rate(torch.tensor([0.1, 0.9]), torch.tensor([0.2, 0.8]))[0]
    0.5
    """
    pos = torch.sort(torch.as_tensor(positive_scores, dtype=torch.float32).flatten())[0]
    neg = torch.sort(torch.as_tensor(negative_scores, dtype=torch.float32).flatten())[0]
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("equal_error_rate needs at least one positive and one negative score")
    thresholds = torch.unique(torch.cat([pos, neg]))
    thresholds = torch.sort(torch.cat([thresholds, (thresholds[:-1] + thresholds[1:]) / 2]))[0]
    frr = torch.searchsorted(pos, thresholds, right=True).float() / pos.numel()
    far = (neg.numel() - torch.searchsorted(neg, thresholds, right=True)).float() / neg.numel()
    best = int(torch.argmin((far - frr).abs()))
    return float((far[best] + frr[best]) / 2), float(thresholds[best])


def _normalized(embeddings):
    return F.normalize(torch.as_tensor(embeddings).float().cpu(), dim=-1)


def trial_scores(embeddings, speakers):
    """Cosine scores of every unordered pair of utterances, split by same / different speaker.

    Arguments
    ---------
    embeddings : torch.Tensor
        [N, D] embeddings.
    speakers : list
        N speaker labels.

    Returns
    -------
    positive : torch.Tensor
        Same-speaker pair cosines.
    negative : torch.Tensor
        Different-speaker pair cosines.

    Example
    -------
    >>> emb = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    >>> pos, neg = trial_scores(emb, ["a", "a", "b"])
    >>> pos.numel(), neg.numel(), bool(pos.min() > neg.max())
    (1, 2, True)
    """
    emb = _normalized(embeddings)
    if len(speakers) != len(emb):
        raise ValueError(f"{len(emb)} embeddings but {len(speakers)} speaker labels")
    index = {name: i for i, name in enumerate(dict.fromkeys(speakers))}
    labels = torch.tensor([index[s] for s in speakers])
    scores = emb @ emb.T
    upper = torch.triu(torch.ones_like(scores, dtype=torch.bool), diagonal=1)
    same = labels[:, None] == labels[None, :]
    return scores[upper & same], scores[upper & ~same]


def enrol(embeddings):
    """A speaker's enrolment vector: the normalised mean of its normalised embeddings.

    Example
    -------
    >>> enrol(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([0.7071, 0.7071])
    """
    return F.normalize(_normalized(embeddings).mean(dim=0), dim=-1)


def identification_rate(embeddings, speakers, enrol_per_speaker=3, draws=10, seed=0):
    """Closest-speaker identification: enrol with a few utterances, classify the rest.

    For each of ``draws`` seeded draws, every speaker is enrolled with ``enrol_per_speaker``
    random utterances (fewer when it has fewer, always leaving one to test); each remaining
    utterance is assigned to the enrolled speaker with the highest cosine.

    Arguments
    ---------
    embeddings : torch.Tensor
        [N, D] embeddings.
    speakers : list
        N speaker labels (at least two speakers).
    enrol_per_speaker : int
        Enrolment utterances per speaker.
    draws : int
        Number of random enrolment draws averaged over.
    seed : int
        Seed of the draws.

    Returns
    -------
    dict
        ``rate`` (mean share of correct assignments), ``rate_min`` / ``rate_max`` over draws,
        ``num_tests`` (test utterances per draw), ``num_speakers``.

    Example
    -------
    >>> emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [1.0, 0.2], [0.0, 1.0], [0.1, 0.9], [0.2, 1.0]])
    >>> identification_rate(emb, list("aaabbb"), enrol_per_speaker=1, draws=3)["rate"]
    1.0
    """
    emb = _normalized(embeddings)
    names = sorted(set(speakers))
    if len(names) < 2:
        raise ValueError("identification needs at least two speakers")
    members = {n: [i for i, s in enumerate(speakers) if s == n] for n in names}
    generator = torch.Generator().manual_seed(seed)
    rates, tests = [], 0
    for _ in range(draws):
        centroids, test_index, test_label = [], [], []
        for label, name in enumerate(names):
            index = torch.tensor(members[name])
            index = index[torch.randperm(len(index), generator=generator)]
            k = max(1, min(enrol_per_speaker, len(index) - 1))
            centroids.append(enrol(emb[index[:k]]))
            test_index.extend(index[k:].tolist())
            test_label.extend([label] * (len(index) - k))
        if not test_index:
            raise ValueError("identification needs a speaker with two or more utterances")
        predicted = (emb[test_index] @ torch.stack(centroids).T).argmax(dim=1)
        rates.append(float((predicted == torch.tensor(test_label)).float().mean()))
        tests = len(test_index)
    return {
        "rate": sum(rates) / len(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "num_tests": tests,
        "num_speakers": len(names),
    }


def verification_report(embeddings, speakers, enrol_per_speaker=3, draws=10, seed=0):
    """EER, identification rate and same / different-speaker cosine statistics.

    Arguments
    ---------
    embeddings : torch.Tensor
        [N, D] embeddings.
    speakers : list
        N speaker labels.
    enrol_per_speaker, draws, seed
        As in :func:`identification_rate`.

    Returns
    -------
    dict
        ``eer``, ``eer_threshold``, ``identification_rate`` (+ ``_min``, ``_max``),
        ``identification_tests``, ``same_speaker_cosine`` / ``different_speaker_cosine``
        (mean) with ``_std``, ``num_speakers``, ``num_utterances``, ``num_same_trials``,
        ``num_different_trials``, ``enrol_per_speaker``, ``draws``.

    Example
    -------
    >>> torch.manual_seed(0) is not None
    True
    >>> centres = torch.randn(4, 16)
    >>> emb = centres.repeat_interleave(5, 0) + 0.1 * torch.randn(20, 16)
    >>> report = verification_report(emb, [i // 5 for i in range(20)], draws=2)
    >>> report["eer"], report["identification_rate"], report["num_same_trials"]
    (0.0, 1.0, 40)
    """
    positive, negative = trial_scores(embeddings, speakers)
    eer, threshold = equal_error_rate(positive, negative)
    ident = identification_rate(embeddings, speakers, enrol_per_speaker, draws, seed)
    return {
        "eer": eer,
        "eer_threshold": threshold,
        "identification_rate": ident["rate"],
        "identification_rate_min": ident["rate_min"],
        "identification_rate_max": ident["rate_max"],
        "identification_tests": ident["num_tests"],
        "same_speaker_cosine": float(positive.mean()),
        "same_speaker_cosine_std": float(positive.std()) if positive.numel() > 1 else 0.0,
        "different_speaker_cosine": float(negative.mean()),
        "different_speaker_cosine_std": float(negative.std()) if negative.numel() > 1 else 0.0,
        "num_speakers": ident["num_speakers"],
        "num_utterances": len(speakers),
        "num_same_trials": positive.numel(),
        "num_different_trials": negative.numel(),
        "enrol_per_speaker": enrol_per_speaker,
        "draws": draws,
    }


def speaker_similarity(encoder, generated_wavs, reference_wavs, sample_rate=None, batch_size=None):
    """Cosine between each generated clip's embedding and its reference's.

    Arguments
    ---------
    encoder : audiodiff.inference.StyleEncoder
        E.g. ``SpeakerEncoder.from_hparams(folder)``.
    generated_wavs : list
        N file paths or 1-D waveforms (embedded without input checks).
    reference_wavs : list
        N file paths or 1-D waveforms, one per generated clip (checked: a silent or too short
        reference raises ``StyleEncoderInputError``).
    sample_rate : int, optional
        Rate of the waveforms given as tensors (default ``encoder.sample_rate``).
    batch_size : int, optional
        Clips per encoder call (default: the encoder's ``batch_size``).

    Returns
    -------
    torch.Tensor
        [N] cosines in [-1, 1] (CPU).

    Example
    -------
    >>> from audiodiff.inference.style.base import StyleEncoder
    >>> class Loudness(StyleEncoder):  # a toy 2-d "speaker" embedding
    ...     sample_rate, embedding_dim = 8000, 2
    ...     def forward(self, wav, lengths=None):
    ...         return torch.stack([wav.abs().mean(1), 1 - wav.abs().mean(1)], 1)
    >>> torch.manual_seed(0) is not None
    True
    >>> wavs = [0.1 * torch.randn(8000), 0.5 * torch.randn(8000)]
    >>> cosines = speaker_similarity(Loudness(), wavs, wavs[::-1])
    >>> cosines.shape, bool(cosines[0] < 0.99), cosines[0].item() == cosines[1].item()
    (torch.Size([2]), True, True)
    """
    if len(generated_wavs) != len(reference_wavs):
        raise ValueError(
            f"{len(generated_wavs)} generated clips but {len(reference_wavs)} references"
        )
    generated = encoder.embed_many(generated_wavs, sample_rate, batch_size=batch_size, check=False)
    reference = encoder.embed_many(reference_wavs, sample_rate, batch_size=batch_size, check=True)
    return (_normalized(generated) * _normalized(reference)).sum(dim=-1)


def closest_speaker(
    encoder, wavs, enrolment, sample_rate=None, batch_size=None, return_scores=False
):
    """The enrolled speaker each clip is closest to (cosine with the enrolment vector).

    Arguments
    ---------
    encoder : audiodiff.inference.StyleEncoder
        Embeds the clips.
    wavs : list
        File paths or 1-D waveforms to assign (embedded without input checks).
    enrolment : dict
        Speaker -> list of that speaker's clips (paths or waveforms; checked).
    sample_rate : int, optional
        Rate of the waveforms given as tensors (default ``encoder.sample_rate``).
    batch_size : int, optional
        Clips per encoder call (default: the encoder's ``batch_size``).
    return_scores : bool
        Also return the [len(wavs), num_speakers] cosine matrix (columns in ``enrolment``
        order).

    Returns
    -------
    list
        The predicted speaker (a key of ``enrolment``) of each clip; with ``return_scores``,
        ``(predictions, scores)``.

    Example
    -------
    >>> from audiodiff.inference.style.base import StyleEncoder
    >>> class Loudness(StyleEncoder):
    ...     sample_rate, embedding_dim = 8000, 2
    ...     def forward(self, wav, lengths=None):
    ...         return torch.stack([wav.abs().mean(1), 1 - wav.abs().mean(1)], 1)
    >>> torch.manual_seed(0) is not None
    True
    >>> quiet, loud = [0.02 * torch.randn(8000)], [0.9 * torch.randn(8000)]
    >>> closest_speaker(Loudness(), [0.8 * torch.randn(8000)], {"quiet": quiet, "loud": loud})
    ['loud']
    """
    names = list(enrolment)
    if not names:
        raise ValueError("closest_speaker needs at least one enrolled speaker")
    centroids = []
    for name in names:
        clips = list(enrolment[name])
        if not clips:
            raise ValueError(f"speaker {name!r} has no enrolment clips")
        centroids.append(
            enrol(encoder.embed_many(clips, sample_rate, batch_size=batch_size, check=True))
        )
    emb = _normalized(encoder.embed_many(wavs, sample_rate, batch_size=batch_size, check=False))
    scores = emb @ torch.stack(centroids).T
    predictions = [names[i] for i in scores.argmax(dim=1).tolist()]
    return (predictions, scores) if return_scores else predictions
