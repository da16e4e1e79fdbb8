"""Character and word error rates of transcripts (intelligibility of real or generated speech).

Both are corpus-level rates: the edits (substitutions, deletions, insertions) of every
hypothesis against its reference, summed, over the summed reference length, counted by
SpeechBrain's ``accumulatable_wer_stats`` (Levenshtein alignment). Texts are normalised first
(:func:`audiodiff.nets.ctc_characters.normalize_transcript`: upper case, punctuation dropped,
single spaces); characters include the spaces between words. Rates are fractions (0.25 is
25%) and can exceed 1 when a hypothesis has many insertions.
"""

import collections

from speechbrain.utils.edit_distance import accumulatable_wer_stats

from audiodiff.nets.ctc_characters import normalize_transcript


def _edits(stats):
    return stats["insertions"] + stats["deletions"] + stats["substitutions"]


def error_rates(hyps, refs):
    """CER and WER of hypotheses against references, with the counts behind them.

    Arguments
    ---------
    hyps : list of str
        Recognised texts (an empty string: nothing recognised, every reference unit deleted).
    refs : list of str
        Reference transcripts, one per hypothesis.

    Returns
    -------
    dict
        ``cer``, ``wer`` (fractions), ``n`` (utterances), ``chars`` / ``words`` (reference
        units), ``char_edits`` / ``word_edits``.

    Raises
    ------
    ValueError
        If the lists differ in length or the references hold no words.

    Example
    -------
    >>> rates = error_rates(["WE CALL IT BEER", ""], ["we call it bear", "one"])
    >>> rates["char_edits"], rates["chars"], rates["word_edits"], rates["words"]
    (4, 18, 2, 5)
    >>> round(rates["cer"], 4), rates["wer"]
    (0.2222, 0.4)
    """
    hyps, refs = list(hyps), list(refs)
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses for {len(refs)} references")
    hyp_text = [normalize_transcript(h) for h in hyps]
    ref_text = [normalize_transcript(r) for r in refs]
    words = accumulatable_wer_stats(
        [r.split() for r in ref_text], [h.split() for h in hyp_text], collections.Counter()
    )
    chars = accumulatable_wer_stats(
        [list(r) for r in ref_text], [list(h) for h in hyp_text], collections.Counter()
    )
    if words["num_ref_tokens"] == 0:
        raise ValueError("the references hold no words: nothing to score")
    return {
        "cer": _edits(chars) / chars["num_ref_tokens"],
        "wer": _edits(words) / words["num_ref_tokens"],
        "n": len(refs),
        "chars": chars["num_ref_tokens"],
        "words": words["num_ref_tokens"],
        "char_edits": _edits(chars),
        "word_edits": _edits(words),
    }


def character_error_rate(hyps, refs):
    """Corpus-level character error rate (spaces count), a fraction.

    Example
    -------
    >>> character_error_rate(["ABD"], ["ABC"]), character_error_rate(["A B"], ["AB"])
    (0.3333333333333333, 0.5)
    """
    return error_rates(hyps, refs)["cer"]


def word_error_rate(hyps, refs):
    """Corpus-level word error rate, a fraction.

    Example
    -------
    >>> word_error_rate(["one two four", "five"], ["one two three", "five six"])
    0.4
    """
    return error_rates(hyps, refs)["wer"]
