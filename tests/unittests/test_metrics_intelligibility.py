"""CER / WER (audiodiff.metrics.intelligibility) on hand-counted cases."""

import pytest

from audiodiff.metrics import character_error_rate, error_rates, word_error_rate


def test_identical_texts_score_zero_after_normalisation():
    rates = error_rates(["we call it, bear!", "Don't"], ["WE CALL IT BEAR", "DON'T"])
    assert rates["cer"] == rates["wer"] == 0.0
    assert (rates["n"], rates["chars"], rates["words"]) == (2, 20, 5)


def test_substitution_deletion_insertion_by_hand():
    # "KAT" vs "CAT": 1 substitution; "CA" vs "CAT": 1 deletion; "CATS" vs "CAT": 1 insertion
    assert character_error_rate(["KAT"], ["CAT"]) == pytest.approx(1 / 3)
    assert character_error_rate(["CA"], ["CAT"]) == pytest.approx(1 / 3)
    assert character_error_rate(["CATS"], ["CAT"]) == pytest.approx(1 / 3)
    # the space counts: "A B" vs "AB" is one inserted character out of two
    assert character_error_rate(["A B"], ["AB"]) == pytest.approx(1 / 2)
    # words: "THE CAT SAT" vs "THE BAT SAT DOWN": 1 substitution + 1 deletion of 4 words
    assert word_error_rate(["THE CAT SAT"], ["THE BAT SAT DOWN"]) == pytest.approx(2 / 4)


def test_rates_are_pooled_over_the_corpus_not_averaged():
    # 1 edit in 10 characters + 3 edits in 3 characters: 4 / 13 (the mean of rates is 0.55)
    rates = error_rates(["ABCDEFGHIX", ""], ["ABCDEFGHIJ", "ONE"])
    assert (rates["char_edits"], rates["chars"]) == (4, 13)
    assert rates["cer"] == pytest.approx(4 / 13)
    assert (rates["word_edits"], rates["words"]) == (2, 2) and rates["wer"] == 1.0


def test_many_insertions_exceed_one():
    assert word_error_rate(["A B C D"], ["A"]) == pytest.approx(3.0)


def test_mismatched_or_empty_references_are_refused():
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        error_rates(["A", "B"], ["A"])
    with pytest.raises(ValueError, match="no words"):
        error_rates(["A"], ["?!"])
