"""Which labels a model is conditioned on, from the recipe's flags (used in YAML), and the
labels it draws from the training data's label frequencies (``prior_labels``)."""

import torch


def label_classes(
    digit_conditioned=False,
    speaker_conditioned=False,
    num_digits=10,
    num_speakers=0,
    prior_labels=(),
):
    """Return the ``label_classes`` dict for the network from the conditioning flags.

    Arguments
    ---------
    digit_conditioned : bool
        Condition on the spoken digit.
    speaker_conditioned : bool
        Condition on the speaker.
    num_digits : int
        Number of digit classes.
    num_speakers : int
        Number of speakers in the training data.
    prior_labels : list of str
        Labels (``"digit"``, ``"speaker"``) the network is also conditioned on although the
        samples do not ask for them: each sample draws them from the training split's label
        frequencies (:func:`draw_prior_labels`). E.g. ``["digit"]`` makes the unconditional
        model a digit-conditioned network whose digits come from the data prior.

    Returns
    -------
    dict
        Label name -> number of classes (empty: a label-free network).

    Example
    -------
    >>> label_classes(True, True, num_speakers=6)
    {'digit': 10, 'speaker': 6}
    >>> label_classes()
    {}
    >>> label_classes(prior_labels=["digit"])
    {'digit': 10}
    """
    unknown = set(prior_labels or ()) - {"digit", "speaker"}
    if unknown:
        raise ValueError(f"unknown prior_labels {sorted(unknown)}: use digit and/or speaker")
    classes = {}
    if digit_conditioned or "digit" in (prior_labels or ()):
        classes["digit"] = int(num_digits)
    if speaker_conditioned or "speaker" in (prior_labels or ()):
        if not num_speakers:
            raise ValueError("speaker conditioning needs num_speakers > 0")
        classes["speaker"] = int(num_speakers)
    return classes


def labels_from_prior(hparams):
    """The labels of ``hparams["prior_labels"]`` that samples draw from the prior: those of
    the network (``label_classes``) whose ``<name>_conditioned`` flag is off.

    Arguments
    ---------
    hparams : dict or namespace
        Recipe hyperparameters (``label_classes``, ``prior_labels``, ``<name>_conditioned``).

    Returns
    -------
    list of str

    Example
    -------
    >>> hp = {"label_classes": {"digit": 10}, "prior_labels": ["digit"],
    ...       "digit_conditioned": False}
    >>> labels_from_prior(hp)
    ['digit']
    >>> labels_from_prior({**hp, "digit_conditioned": True})
    []
    """
    get = hparams.get if isinstance(hparams, dict) else lambda k, d=None: getattr(hparams, k, d)
    network = get("label_classes") or {}
    return [n for n in get("prior_labels") or () if n in network and not get(f"{n}_conditioned")]


def prior_probabilities(hparams, label_prior=None):
    """Class probabilities of each label drawn from the prior (:func:`labels_from_prior`).

    Arguments
    ---------
    hparams : dict or namespace
        Recipe hyperparameters.
    label_prior : dict, optional
        Label name -> class frequencies of the training split (as the recipe writes them to
        ``label_prior.json``); a label missing here is drawn uniformly.

    Returns
    -------
    dict
        Label name -> list of probabilities.

    Example
    -------
    >>> hp = {"label_classes": {"digit": 2}, "prior_labels": ["digit"]}
    >>> prior_probabilities(hp), prior_probabilities(hp, {"digit": [0.25, 0.75]})
    ({'digit': [0.5, 0.5]}, {'digit': [0.25, 0.75]})
    """
    get = hparams.get if isinstance(hparams, dict) else lambda k, d=None: getattr(hparams, k, d)
    classes = get("label_classes") or {}
    known = label_prior or {}
    return {n: known.get(n) or [1 / classes[n]] * classes[n] for n in labels_from_prior(hparams)}


def label_frequencies(labels, num_classes):
    """Relative frequency of each class in a [N] long tensor (the label prior of a split).

    Example
    -------
    >>> label_frequencies(torch.tensor([0, 0, 1, 2]), 4)
    [0.5, 0.25, 0.25, 0.0]
    """
    counts = torch.bincount(torch.as_tensor(labels).long(), minlength=num_classes).double()
    return (counts / counts.sum().clamp(min=1)).tolist()


def draw_prior_labels(grid, priors, generator=None):
    """Add to each label dict of ``grid`` the labels of ``priors``, drawn from their frequencies.

    Arguments
    ---------
    grid : list of dict
        The labels each sample asks for (``{}`` for unconditional ones).
    priors : dict
        Label name -> class probabilities (a list); a label already in a grid entry is kept.
    generator : torch.Generator, optional
        A CPU generator, for reproducible draws.

    Returns
    -------
    list of dict
        New label dicts (``grid`` is not changed).

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> draw_prior_labels([{}, {"digit": 3}], {"digit": [0.0, 1.0]}, generator=g)
    [{'digit': 1}, {'digit': 3}]
    """
    out = [dict(labels) for labels in grid]
    for name, probs in priors.items():
        draws = torch.multinomial(
            torch.as_tensor(probs, dtype=torch.float64),
            len(out),
            replacement=True,
            generator=generator,
        ).tolist()
        for labels, value in zip(out, draws):
            labels.setdefault(name, int(value))
    return out
