"""Tests of audiodiff.nets.tokenizers: ids, one-line errors, save / load round trips."""

import pytest

from audiodiff.data.synth.library import synth_available
from audiodiff.nets.tokenizers import (
    ArpabetTokenizer,
    IpaTokenizer,
    SentencePieceTokenizer,
    TokenizationError,
    load_tokenizer,
)

LEXICON = {"SEVEN": ["S", "EH1", "V", "AH0", "N"], "ONE": ["W", "AH1", "N"]}
TEXTS = ["seven one", "one seven seven", "one"] * 10


def test_arpabet_ids_and_boundary_silence():
    tok = ArpabetTokenizer(LEXICON)
    ids = tok("Seven, one!")
    assert ids[0] == ids[-1] == 1 and len(ids) == 2 + 5 + 3
    assert tok.symbols("one") == ["W", "AH1", "N"]
    assert max(ids) < tok.vocab_size


def test_arpabet_without_stress_and_manifest_phones():
    tok = ArpabetTokenizer(LEXICON, keep_stress=False)
    assert "EH" in tok.vocab.symbols and "EH1" not in tok.vocab.symbols
    assert tok.encode_phones(["W", "AH0", "N"]).tolist() == tok("one").tolist()


@pytest.mark.parametrize(
    "text, match",
    [("", "empty"), ("   ", "empty"), ("seven eleven", "'ELEVEN'"), ("café", "'CAFÉ'")],
)
def test_arpabet_errors_are_one_line(text, match):
    with pytest.raises(TokenizationError, match=match) as info:
        ArpabetTokenizer(LEXICON)(text)
    assert "\n" not in str(info.value)


def test_unknown_phoneme_is_refused():
    tok = ArpabetTokenizer(LEXICON)
    with pytest.raises(TokenizationError, match="phoneme"):
        tok.encode_phones(["ZH"])


@pytest.mark.parametrize("model_type", ["char", "unigram"])
def test_sentencepiece_trains_offline_and_round_trips(tmp_path, model_type):
    tok = SentencePieceTokenizer.train(TEXTS, str(tmp_path), vocab_size=16, model_type=model_type)
    ids = tok("seven one")
    assert ids[0] == ids[-1] == 1 and bool((ids[1:-1] >= 2).all())
    again = load_tokenizer(str(tmp_path))
    assert again("seven one").tolist() == ids.tolist()
    with pytest.raises(TokenizationError, match="character"):
        tok("seven ü")
    with pytest.raises(TokenizationError, match="empty"):
        tok("")


def test_arpabet_save_load(tmp_path):
    tok = ArpabetTokenizer(LEXICON)
    tok.save(str(tmp_path))
    assert load_tokenizer(str(tmp_path))("seven one").tolist() == tok("seven one").tolist()


@pytest.mark.skipif(not synth_available(), reason="eSpeak NG (audiodiff[synth]) not installed")
def test_ipa_inventory_from_corpus(tmp_path):
    tok = IpaTokenizer().fit(["seven", "one"])
    assert len(tok("one seven")) == len(tok.symbols("one seven")) + 2
    tok.save(str(tmp_path))
    assert load_tokenizer(str(tmp_path))("seven").tolist() == tok("seven").tolist()
    with pytest.raises(TokenizationError, match="phoneme"):
        tok("zebra")  # 'z' / 'b' were never in the fitted inventory
