"""Errors raised by dataset preparation."""


class DataFolderError(FileNotFoundError):
    """A dataset folder is missing or holds no usable audio; the message names the flag to pass."""


class EmptySplitError(DataFolderError, ValueError):
    """A dataset split (train, valid or test) would hold no item; the message says why."""
