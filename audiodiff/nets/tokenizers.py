"""Text -> token ids for the TTS content encoders: ARPAbet (lexicon), IPA (eSpeak NG), and
characters / subwords (SentencePiece, trained offline on the corpus text).

Every tokenizer has the same small interface: ``symbols(text) -> list of str`` (what the
model reads), ``__call__(text) -> LongTensor [length]`` (ids, with a ``<sil>`` token at both
ends to absorb leading and trailing silence), ``vocab_size``, ``save(folder)`` and
:func:`load_tokenizer`. Text a tokenizer cannot read (an empty text, a word missing from the
lexicon, a character or phoneme never seen in training) raises :class:`TokenizationError`
with one line that names the offending items.
"""

import json
import os
import re

import torch

PAD, SIL = "<pad>", "<sil>"
"""Id 0 pads batches; id 1 is the silence token added at both ends of every sequence."""

TOKENIZER_FILE = "tokenizer.json"
SENTENCEPIECE_FILE = "tokenizer.model"
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*'?")
_SHOW = 5


class TokenizationError(ValueError):
    """The text cannot be turned into tokens (the message names what could not be read)."""


def _listing(items):
    items = sorted(set(items))
    more = f" and {len(items) - _SHOW} more" if len(items) > _SHOW else ""
    return ", ".join(repr(i) for i in items[:_SHOW]) + more


def normalize_words(text):
    """Upper-case words of ``text`` (letters of any script, digits, inner apostrophes);
    punctuation is dropped.

    Arguments
    ---------
    text : str
        Any text.

    Returns
    -------
    list of str

    Example
    -------
    >>> normalize_words("We can't call it, 'bear'! Café")
    ['WE', "CAN'T", 'CALL', 'IT', "BEAR'", 'CAFÉ']
    """
    return _WORD_RE.findall(str(text).upper())


def _check_text(text):
    if not isinstance(text, str) or not text.strip():
        raise TokenizationError("the text is empty: give at least one word")


class SymbolVocabulary:
    """Symbols <-> ids with ``<pad>`` = 0 and ``<sil>`` = 1.

    Arguments
    ---------
    symbols : iterable of str
        The symbols the model reads (order kept, duplicates dropped).

    Example
    -------
    >>> vocab = SymbolVocabulary(["AH0", "B"])
    >>> vocab.encode(["B", "AH0"]).tolist(), len(vocab)
    ([1, 3, 2, 1], 4)
    """

    def __init__(self, symbols):
        seen = [PAD, SIL]
        for symbol in symbols:
            if symbol not in seen:
                seen.append(symbol)
        self.symbols = seen
        self.index = {s: i for i, s in enumerate(seen)}

    def __len__(self):
        return len(self.symbols)

    def encode(self, symbols, what="symbol"):
        """Ids of ``symbols`` with ``<sil>`` at both ends ([len + 2] long).

        Raises
        ------
        TokenizationError
            If a symbol is not in the vocabulary (all unknown ones are named).
        """
        unknown = [s for s in symbols if s not in self.index]
        if unknown:
            raise TokenizationError(
                f"cannot read the {what}(s) {_listing(unknown)}: not in this model's "
                f"vocabulary of {len(self) - 2}"
            )
        if not symbols:
            raise TokenizationError("the text has no readable content")
        ids = [self.index[SIL], *(self.index[s] for s in symbols), self.index[SIL]]
        return torch.tensor(ids, dtype=torch.long)


def read_lexicon(path):
    """A pronunciation lexicon ``WORD<tab or space>PH1 PH2 ...`` (first entry of each word).

    Arguments
    ---------
    path : str
        Lexicon file (Kaldi / CMUdict style; ``;;;`` comment lines are skipped).

    Returns
    -------
    dict
        Upper-case word -> list of phones.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "lex.txt")
    >>> _ = open(path, "w").write("ONE\\tW AH1 N\\nONE\\tHH W AH1 N\\n")
    >>> read_lexicon(path)
    {'ONE': ['W', 'AH1', 'N']}
    """
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or line.startswith(";;;"):
                continue
            lexicon.setdefault(parts[0].upper(), parts[1:])
    return lexicon


class ArpabetTokenizer:
    """ARPAbet phones from a pronunciation lexicon (e.g. speechocean762's ``lexicon.txt``).

    Arguments
    ---------
    lexicon : dict or str
        Word -> phones, or a lexicon file (:func:`read_lexicon`).
    keep_stress : bool
        Keep the stress digit of vowels (``AH0``); False maps ``AH0`` -> ``AH``.
    symbols : list of str, optional
        The phone inventory; default: every phone of the lexicon.

    Example
    -------
    >>> tok = ArpabetTokenizer({"ONE": ["W", "AH1", "N"], "TWO": ["T", "UW1"]})
    >>> tok.symbols("Two one"), tok("two").tolist()
    (['T', 'UW1', 'W', 'AH1', 'N'], [1, 4, 5, 1])
    >>> tok("three")
    Traceback (most recent call last):
    ...
    audiodiff.nets.tokenizers.TokenizationError: cannot read the word(s) 'THREE': ...
    """

    kind = "arpabet"

    def __init__(self, lexicon, keep_stress=True, symbols=None):
        if not isinstance(lexicon, dict):
            lexicon = read_lexicon(lexicon)
        self.keep_stress = keep_stress
        self.lexicon = {w.upper(): [self._phone(p) for p in ph] for w, ph in lexicon.items()}
        if symbols is None:
            symbols = sorted({p for phones in self.lexicon.values() for p in phones})
        self.vocab = SymbolVocabulary(symbols)

    def _phone(self, phone):
        phone = phone.upper()
        return phone if self.keep_stress else phone.rstrip("012")

    @property
    def vocab_size(self):
        return len(self.vocab)

    def symbols(self, text):
        """The phones of ``text`` (word by word, from the lexicon)."""
        _check_text(text)
        words = normalize_words(text)
        missing = [w for w in words if w not in self.lexicon]
        if missing:
            raise TokenizationError(
                f"cannot read the word(s) {_listing(missing)}: not in the lexicon of "
                f"{len(self.lexicon)} words"
            )
        return [p for w in words for p in self.lexicon[w]]

    def encode_phones(self, phones):
        """Ids of a given phone sequence (e.g. a manifest's canonical phones)."""
        return self.vocab.encode([self._phone(p) for p in phones], what="phoneme")

    def __call__(self, text):
        return self.vocab.encode(self.symbols(text), what="phoneme")

    def save(self, folder):
        """Write ``folder/tokenizer.json`` (lexicon and inventory)."""
        _write(
            folder,
            self.kind,
            lexicon=self.lexicon,
            keep_stress=self.keep_stress,
            symbols=self.vocab.symbols[2:],
        )


def split_ipa(ipa):
    """IPA string -> symbols: one per character, a word boundary as ``" "``.

    Example
    -------
    >>> split_ipa("nˈaɪn wˈʌn")
    ['n', 'ˈ', 'a', 'ɪ', 'n', ' ', 'w', 'ˈ', 'ʌ', 'n']
    """
    return list(" ".join(ipa.split()))


class IpaTokenizer:
    """IPA characters from eSpeak NG (the ``audiodiff[synth]`` extra, GPL-3.0, run locally).

    The inventory is fitted on the corpus text (:meth:`fit`); at inference a phoneme outside
    it raises :class:`TokenizationError`.

    Arguments
    ---------
    symbols : list of str, optional
        The IPA inventory (from :meth:`fit` or a saved tokenizer).
    accent : str
        eSpeak NG accent (``"en-us"``).

    Example
    -------
    >>> tok = IpaTokenizer().fit(["nine", "one"])
    >>> tok.symbols("Nine")
    ['n', 'ˈ', 'a', 'ɪ', 'n']
    >>> len(tok("one nine"))  # 4 + 1 + 5 symbols + 2 <sil>
    12
    """

    kind = "ipa"

    def __init__(self, symbols=None, accent="en-us"):
        self.accent = accent
        self.vocab = SymbolVocabulary(symbols or [])

    @property
    def vocab_size(self):
        return len(self.vocab)

    def _ipa(self, texts):
        from audiodiff.data.synth.phonemize import phonemize_texts

        return phonemize_texts(texts, accent=self.accent)

    def fit(self, texts):
        """Set the inventory to every IPA symbol of ``texts``; returns ``self``."""
        found = {s for ipa in self._ipa(list(texts)) for s in split_ipa(ipa)}
        symbols = sorted(found | {" "})
        self.vocab = SymbolVocabulary(symbols)
        return self

    def symbols(self, text):
        _check_text(text)
        return split_ipa(self._ipa([text])[0])

    def __call__(self, text):
        return self.vocab.encode(self.symbols(text), what="phoneme")

    def save(self, folder):
        _write(folder, self.kind, symbols=self.vocab.symbols[2:], accent=self.accent)


class SentencePieceTokenizer:
    """Characters or subwords with SentencePiece, trained offline on the corpus text.

    Ids are SentencePiece's ids shifted by 2 (``<pad>`` = 0, ``<sil>`` = 1 come first);
    SentencePiece's own ``<unk>`` means a character the model never saw and raises
    :class:`TokenizationError`. Text is upper-cased like :func:`normalize_words`.

    Arguments
    ---------
    model_file : str
        A SentencePiece model (``.model``) from :meth:`train`.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> tok = SentencePieceTokenizer.train(["one two", "two three"] * 20, folder,
    ...                                    vocab_size=20, model_type="char")
    >>> tok.symbols("two one")[:3]
    ['▁', 'T', 'W']
    >>> tok("two é")
    Traceback (most recent call last):
    ...
    audiodiff.nets.tokenizers.TokenizationError: cannot read the character(s) 'É': ...
    """

    kind = "sentencepiece"

    def __init__(self, model_file):
        import sentencepiece

        self.model_file = os.path.abspath(model_file)
        self.processor = sentencepiece.SentencePieceProcessor(model_file=self.model_file)

    @classmethod
    def train(cls, texts, folder, vocab_size=64, model_type="unigram"):
        """Train on ``texts`` (no download); writes ``folder/tokenizer.model``.

        Arguments
        ---------
        texts : iterable of str
            Corpus sentences.
        folder : str
            Output folder.
        vocab_size : int
            Pieces wanted (an upper bound: a small corpus may give fewer).
        model_type : str
            ``"char"`` (characters), ``"unigram"`` or ``"bpe"`` (subwords).
        """
        import sentencepiece

        os.makedirs(folder, exist_ok=True)
        lines = [" ".join(normalize_words(t)) for t in texts]
        lines = [line for line in lines if line]
        if not lines:
            raise TokenizationError("cannot train a SentencePiece model on an empty corpus")
        prefix = os.path.join(folder, os.path.splitext(SENTENCEPIECE_FILE)[0])
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_prefix=prefix,
            vocab_size=vocab_size,
            model_type=model_type,
            hard_vocab_limit=False,
            character_coverage=1.0,
            bos_id=-1,
            eos_id=-1,
            minloglevel=2,
        )
        tok = cls(prefix + ".model")
        tok.save(folder)
        return tok

    @property
    def vocab_size(self):
        return self.processor.get_piece_size() + 2

    def symbols(self, text):
        _check_text(text)
        line = " ".join(normalize_words(text))
        if not line:
            raise TokenizationError(f"cannot read {text!r}: no letters or digits in it")
        ids = self.processor.encode(line)
        unk = self.processor.unk_id()
        if unk in ids:
            known = {
                c
                for i in range(self.processor.get_piece_size())
                for c in self.processor.id_to_piece(i)
            }
            bad = [c for c in line if c not in known and c != " "] or [line]
            raise TokenizationError(
                f"cannot read the character(s) {_listing(bad)}: not in this model's "
                "SentencePiece vocabulary"
            )
        return [self.processor.id_to_piece(i) for i in ids]

    def __call__(self, text):
        self.symbols(text)  # the checks
        line = " ".join(normalize_words(text))
        ids = [1, *(i + 2 for i in self.processor.encode(line)), 1]
        return torch.tensor(ids, dtype=torch.long)

    def save(self, folder):
        target = os.path.join(folder, SENTENCEPIECE_FILE)
        if os.path.abspath(target) != self.model_file:
            os.makedirs(folder, exist_ok=True)
            with open(self.model_file, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
        _write(folder, self.kind, model_file=SENTENCEPIECE_FILE)


def _write(folder, kind, **fields):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, TOKENIZER_FILE), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, **fields}, f, ensure_ascii=False)


def load_tokenizer(folder):
    """The tokenizer saved in ``folder`` by its ``save``.

    Arguments
    ---------
    folder : str
        Folder holding ``tokenizer.json`` (and ``tokenizer.model`` for SentencePiece).

    Returns
    -------
    ArpabetTokenizer, IpaTokenizer or SentencePieceTokenizer

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ArpabetTokenizer({"ONE": ["W", "AH1", "N"]}).save(folder)
    >>> load_tokenizer(folder)("one").tolist()
    [1, 4, 2, 3, 1]
    """
    path = os.path.join(folder, TOKENIZER_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {TOKENIZER_FILE} in {folder}")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    kind = data.pop("kind")
    if kind == ArpabetTokenizer.kind:
        return ArpabetTokenizer(data["lexicon"], data["keep_stress"], data["symbols"])
    if kind == IpaTokenizer.kind:
        return IpaTokenizer(data["symbols"], data["accent"])
    if kind == SentencePieceTokenizer.kind:
        return SentencePieceTokenizer(os.path.join(folder, data["model_file"]))
    raise ValueError(f"unknown tokenizer kind {kind!r} in {path}")
