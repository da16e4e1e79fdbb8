"""Command line -> hyperparameters for every recipe's ``train.py``, with one-line errors.

``load_hparams(argv)`` does what ``sb.parse_arguments`` + ``load_hyperpyyaml`` do, and first
checks each ``--key value`` override against the hparams file: a key the file does not
define, or a value of the wrong type for the file's default, stops with one ``error: ...``
line (``SystemExit``) that names the closest valid keys or the expected type, instead of a
traceback from inside hyperpyyaml or SpeechBrain.

SpeechBrain run options that the hparams file also defines (``ckpt_interval_minutes``,
``optimizer_step_limit``, ``precision``, ...) are treated as overrides of the file's key:
SpeechBrain reads them from the hparams, and the file's type applies (SpeechBrain's own
parser would reject ``--ckpt_interval_minutes 0.5``, typed ``int`` there).
"""

import dataclasses
import difflib
import io
import os

import ruamel.yaml
import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.run_opts import RunOptions

_BOOLEAN_RUN_OPTIONS = {k for k, v in RunOptions().as_dict().items() if isinstance(v, bool)}
RUN_OPTIONS = set(RunOptions().as_dict()) - {"param_file", "overridden_args"}
"""Names of SpeechBrain's run options (``--device``, ``--debug``, ``--precision``, ...)."""


def _yaml():
    return ruamel.yaml.YAML()  # the loader hyperpyyaml applies overrides with


def hparams_defaults(hparams_file):
    """The top-level keys of an hparams file and their values as written (tags unresolved).

    Arguments
    ---------
    hparams_file : str
        Path of a hyperpyyaml file.

    Returns
    -------
    dict
        Key -> value as written: ``int``, ``float``, ``bool``, ``str``, ``list``, ``None``,
        or a ruamel node carrying a ``tag`` (``!ref``, ``!new:...``) for computed values.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "h.yaml")
    >>> _ = open(path, "w").write("seed: 1\\nlr: 0.1\\nout: !ref r/<seed>\\n")
    >>> defaults = hparams_defaults(path)
    >>> sorted(defaults), defaults["seed"], defaults["lr"]
    (['lr', 'out', 'seed'], 1, 0.1)
    """
    with open(hparams_file, encoding="utf-8") as f:
        loaded = _yaml().load(f)
    return dict(loaded or {})


def _type_problem(value, default):
    """Why ``value`` cannot replace ``default`` (a description of the expected type), or None."""
    tag = getattr(getattr(default, "tag", None), "value", None)
    if value is None or default is None or tag is not None:
        return (
            None  # null turns a key off; null or computed (!ref, !new, ...) defaults take anything
        )
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "an integer"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if isinstance(default, list):
        return None if isinstance(value, list) else 'a list, e.g. "[1, 2]"'
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "a mapping"
    if isinstance(default, str):
        return None if not isinstance(value, (list, dict)) else "a single value"
    return None


def _shown(default):
    text = io.StringIO()
    _yaml().dump({"v": default}, text)
    return text.getvalue().strip()[3:].replace("\n", " ")


def check_overrides(overrides, defaults, hparams_file="the hparams file"):
    """Stop with one line when an override names no key of the file or has the wrong type.

    Arguments
    ---------
    overrides : dict
        Key -> value (as parsed from the command line).
    defaults : dict
        The file's top-level keys and values (:func:`hparams_defaults`).
    hparams_file : str
        Name used in the messages.

    Raises
    ------
    SystemExit
        ``error: ...``, naming the closest valid keys (``difflib``) or the expected type.

    Example
    -------
    >>> check_overrides({"lr": 0.5}, {"lr": 0.1, "batch_size": 16})
    >>> try:
    ...     check_overrides({"batch_sise": 8}, {"lr": 0.1, "batch_size": 16})
    ... except SystemExit as err:
    ...     print(err)
    error: unknown option --batch_sise (not a key of the hparams file); closest: --batch_size
    >>> try:
    ...     check_overrides({"batch_size": "abc"}, {"batch_size": 16}, "train.yaml")
    ... except SystemExit as err:
    ...     print(err)
    error: --batch_size expects an integer (train.yaml has 16), got 'abc'
    >>> check_overrides({"max_train_minutes": 3.8}, {"max_train_minutes": 8})  # a duration
    """
    valid = sorted(set(defaults) | RUN_OPTIONS)
    for key, value in overrides.items():
        if key not in defaults:
            close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
            hint = (
                "closest: " + ", ".join(f"--{k}" for k in close)
                if close
                else f"the keys are the top-level entries of {hparams_file}"
            )
            raise SystemExit(f"error: unknown option --{key} (not a key of {hparams_file}); {hint}")
        expected = _type_problem(value, defaults[key])
        if expected is not None and _is_duration(key) and isinstance(value, float):
            expected = None  # a time budget is a real number even where the file wrote "8"
        if expected is not None:
            raise SystemExit(
                f"error: --{key} expects {expected} ({hparams_file} has "
                f"{_shown(defaults[key])}), got {value!r}"
            )


def _is_duration(key):
    """Whether a key names a time budget (``max_train_minutes``, ``..._seconds``)."""
    return key.endswith(("_minutes", "_seconds"))


def _split_run_options(argv, defaults):
    """Move ``--opt value`` of SpeechBrain run options the file defines into YAML overrides."""
    kept, moved = [], []
    args = iter(argv)
    for arg in args:
        name, has_value, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if name in RUN_OPTIONS and name in defaults and name not in _BOOLEAN_RUN_OPTIONS:
            if not has_value:
                value = next(args, None)
                if value is None:
                    raise SystemExit(f"error: --{name} needs a value")
            moved.append((name, value))
        else:
            kept.append(arg)
    return kept, moved


def _last_of_each_key(text):
    r"""The override text with a repeated top-level key kept only where it comes last (a
    command line's later ``--key value`` wins, as in argparse; YAML refuses duplicates).

    Example
    -------
    >>> _last_of_each_key("a: 1\nb: [1,\n  2]\na: 3")
    'b: [1,\n  2]\na: 3'
    """
    blocks = []
    for line in text.splitlines():
        if blocks and (not line.strip() or line[0].isspace()):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    last = {}
    for i, block in enumerate(blocks):
        last[block[0].split(":", 1)[0].strip()] = i
    return "\n".join("\n".join(b) for i, b in enumerate(blocks) if i in last.values())


def _parse_yaml_overrides(text):
    if not text:
        return {}
    text = _last_of_each_key(text)
    try:
        parsed = _yaml().load(text)
    except ruamel.yaml.YAMLError as err:
        problem = str(err).strip().splitlines()[0]
        raise SystemExit(f"error: cannot read the command-line overrides: {problem}") from None
    if not isinstance(parsed, dict):
        raise SystemExit(f"error: cannot read the command-line overrides {text!r}")
    return _plain(parsed)


def _plain(value):
    """ruamel containers and scalars -> plain Python (for hyperparams.yaml and comparisons)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def build_hparams(hparams_file, overrides):
    """``load_hyperpyyaml(hparams_file, overrides)`` with one-line errors.

    Arguments
    ---------
    hparams_file : str
        Path of the hyperpyyaml file.
    overrides : dict
        Key -> value.

    Returns
    -------
    dict
        The built hyperparameters.

    Raises
    ------
    SystemExit
        ``error: ...`` when an object cannot be built from the values (a ``ValueError`` or
        ``TypeError`` raised while loading, e.g. an attention level out of range).
    """
    try:
        with open(hparams_file, encoding="utf-8") as fin:
            return load_hyperpyyaml(fin, overrides)
    except (ValueError, TypeError) as err:
        raise SystemExit(
            f"error: {hparams_file} could not be built with these values: "
            f"{type(err).__name__}: {err}"
        ) from None


def parse_overrides(argv):
    """The checking half of :func:`load_hparams`: parse and check, build nothing.

    Arguments
    ---------
    argv : list of str
        ``[hparams_file, --key value, ...]``.

    Returns
    -------
    (hparams_file, run_opts, overrides)
        As :func:`load_hparams`, without the built hparams.

    Raises
    ------
    SystemExit
        As :func:`load_hparams`, except for values an object rejects while being built.
    """
    if not argv or argv[0].startswith("-"):
        raise SystemExit("error: the first argument must be an hparams file (hparams/NAME.yaml)")
    hparams_file = argv[0]
    if not os.path.isfile(hparams_file):
        raise SystemExit(f"error: hparams file '{hparams_file}' not found")
    defaults = hparams_defaults(hparams_file)
    kept, moved = _split_run_options(argv[1:], defaults)
    _, run_opts, text = sb.parse_arguments([hparams_file, *kept])
    limit = run_opts["optimizer_step_limit"]
    if isinstance(limit, str):  # SpeechBrain's parser leaves this one untyped
        try:
            run_opts = dataclasses.replace(run_opts, optimizer_step_limit=int(limit))
        except ValueError:
            raise SystemExit(
                f"error: --optimizer_step_limit expects an integer, got {limit!r}"
            ) from None
    overrides = _parse_yaml_overrides(text)
    overrides.update(_parse_yaml_overrides("\n".join(f"{k}: {v}" for k, v in moved)))
    check_overrides(overrides, defaults, os.path.basename(hparams_file))
    return hparams_file, run_opts, overrides


def load_hparams(argv):
    """Parse a recipe's command line and build its hyperparameters, with one-line errors.

    Arguments
    ---------
    argv : list of str
        ``[hparams_file, --key value, ...]`` (``sys.argv[1:]``).

    Returns
    -------
    (hparams_file, run_opts, overrides, hparams)
        As ``sb.parse_arguments`` (overrides as a plain dict), plus the built hparams.

    Raises
    ------
    SystemExit
        ``error: ...`` for a missing hparams file, an unknown key (the closest keys are
        named), a value of the wrong type, a malformed run option, or a value an object
        rejects while being built.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "h.yaml")
    >>> _ = open(path, "w").write("seed: 1\\nckpt_interval_minutes: 2.0\\n")
    >>> _, run_opts, overrides, hparams = load_hparams(
    ...     [path, "--seed", "3", "--ckpt_interval_minutes", "0.5"])
    >>> overrides, hparams["ckpt_interval_minutes"]
    ({'seed': 3, 'ckpt_interval_minutes': 0.5}, 0.5)
    """
    hparams_file, run_opts, overrides = parse_overrides(argv)
    return hparams_file, run_opts, overrides, build_hparams(hparams_file, overrides)
