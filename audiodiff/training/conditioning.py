"""Which labels a model is conditioned on, from the recipe's flags (used in YAML)."""


def label_classes(
    digit_conditioned=False, speaker_conditioned=False, num_digits=10, num_speakers=0
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

    Returns
    -------
    dict
        Label name -> number of classes (empty: unconditional).

    Example
    -------
    >>> label_classes(True, True, num_speakers=6)
    {'digit': 10, 'speaker': 6}
    >>> label_classes()
    {}
    """
    classes = {}
    if digit_conditioned:
        classes["digit"] = int(num_digits)
    if speaker_conditioned:
        if not num_speakers:
            raise ValueError("speaker_conditioned needs num_speakers > 0")
        classes["speaker"] = int(num_speakers)
    return classes
