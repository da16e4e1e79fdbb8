"""Characters <-> ids for CTC recognisers: blank = 0, then space, apostrophe and A-Z."""

import torch

from audiodiff.nets.tokenizers import TokenizationError, normalize_words

BLANK = "<blank>"
ENGLISH_CHARACTERS = " 'ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The default inventory: space, apostrophe, A-Z (ids 1..28; 0 is the blank)."""


def normalize_transcript(text):
    """Upper-case words joined by single spaces, punctuation dropped (``normalize_words``).

    Arguments
    ---------
    text : str
        Any transcript.

    Returns
    -------
    str

    Example
    -------
    >>> normalize_transcript("  We can't,  call it  'bear'!")
    "WE CAN'T CALL IT BEAR'"
    """
    return " ".join(normalize_words(text))


class CharacterVocabulary:
    """The output classes of a character CTC model: ``<blank>`` = 0, then ``characters``.

    Arguments
    ---------
    characters : str
        The characters (each one symbol; the space separates words).

    Example
    -------
    >>> vocab = CharacterVocabulary()
    >>> len(vocab), vocab.encode("We call").tolist()
    (29, [25, 7, 1, 5, 3, 14, 14])
    >>> vocab.decode([25, 7, 1, 1, 0, 5])
    'WE C'
    >>> vocab.encode("Café")
    Traceback (most recent call last):
    ...
    audiodiff.nets.tokenizers.TokenizationError: cannot read the character(s) 'É': ...
    """

    def __init__(self, characters=ENGLISH_CHARACTERS):
        characters = list(dict.fromkeys(characters))
        if " " not in characters:
            raise ValueError("the characters must include the space (the word separator)")
        self.symbols = [BLANK, *characters]
        self.index = {c: i for i, c in enumerate(self.symbols)}
        self.blank_id = 0

    def __len__(self):
        return len(self.symbols)

    def encode(self, text):
        """Ids of the normalised ``text`` (:func:`normalize_transcript`), no blank: [length].

        Raises
        ------
        TokenizationError
            If the text has no words, or characters outside the vocabulary (all named).
        """
        line = normalize_transcript(text)
        if not line:
            raise TokenizationError(f"cannot read {text!r}: no words in it")
        unknown = sorted({c for c in line if c not in self.index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:5])
            raise TokenizationError(
                f"cannot read the character(s) {shown}: not in this model's vocabulary of "
                f"{len(self) - 1} characters"
            )
        return torch.tensor([self.index[c] for c in line], dtype=torch.long)

    def decode(self, ids):
        """Text of ids (blanks dropped, spaces collapsed and stripped); CTC repeats must be
        merged already (``speechbrain.decoders.ctc_greedy_decode`` does).

        Arguments
        ---------
        ids : iterable of int

        Returns
        -------
        str
        """
        text = "".join(self.symbols[int(i)] for i in ids if int(i) != self.blank_id)
        return " ".join(text.split())
