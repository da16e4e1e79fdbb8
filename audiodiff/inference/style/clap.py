"""CLAP's audio embedding (LAION-CLAP through ``transformers``), loaded from a local folder.

``ClapAudioEncoder.from_pretrained(folder)`` reads a ``ClapModel`` and its
``ClapFeatureExtractor`` (a folder written by ``save_pretrained``, e.g. a downloaded
``laion/clap-htsat-unfused``) with ``local_files_only=True``: nothing is fetched from a hub.
References are resampled to the extractor's rate (48 kHz), turned into its log-mel input, and
embedded by ``get_audio_features`` (unit norm, ``projection_dim`` wide). Clips longer than the
extractor's ``max_length_s`` (10 s) are cut the extractor's way (random crops or fusion,
depending on its ``truncation``): embed references shorter than that for reproducible results.

``transformers`` is an optional dependency: ``pip install audiodiff[clap]``.
"""

import os

import torch
import torch.nn.functional as F

from audiodiff.inference.style.base import StyleEncoder


def _transformers():
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "ClapAudioEncoder needs the transformers package: pip install 'audiodiff[clap]'"
        ) from None
    return transformers


class ClapAudioEncoder(StyleEncoder):
    """CLAP audio-tower embeddings of reference clips.

    Arguments
    ---------
    model : transformers.ClapModel
        The CLAP model (only its audio tower and projection run).
    feature_extractor : transformers.ClapFeatureExtractor
        Its feature extractor; ``sampling_rate`` is the encoder's ``sample_rate``.
    min_speech_seconds : float
        See :class:`StyleEncoder`.
    trim_db : float or None
        See :class:`StyleEncoder`.

    Example (needs ``transformers``; ``tests/unittests/test_inference_style.py`` builds a tiny
    random ``ClapConfig`` model this way)::

        encoder = ClapAudioEncoder.from_pretrained("/models/clap-htsat-unfused")
        encoder.embed_file("reference.wav").shape   # torch.Size([512])
    """

    def __init__(self, model, feature_extractor, min_speech_seconds=0.5, trim_db=40.0):
        super().__init__()
        self.model = model
        self.feature_extractor = feature_extractor
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.embedding_dim = int(model.config.projection_dim)
        self.min_speech_seconds = min_speech_seconds
        self.trim_db = trim_db

    @classmethod
    def from_pretrained(cls, local_folder, device=None):
        """Loads ``ClapModel`` + ``ClapFeatureExtractor`` from a local folder only.

        Arguments
        ---------
        local_folder : str or os.PathLike
            Folder holding ``config.json``, the weights and ``preprocessor_config.json``
            (``model.save_pretrained(folder)``; ``feature_extractor.save_pretrained(folder)``
            or a ``ClapProcessor``'s).
        device : str or torch.device, optional
            Where to run (default: cuda when available).

        Returns
        -------
        ClapAudioEncoder
            In eval mode.

        Raises
        ------
        FileNotFoundError
            If the folder is missing or is not a saved CLAP model (one-line message).
        ImportError
            If ``transformers`` is not installed.
        """
        folder = os.path.abspath(os.fspath(local_folder))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"CLAP model folder '{folder}' not found")
        for name in ("config.json", "preprocessor_config.json"):
            if not os.path.isfile(os.path.join(folder, name)):
                raise FileNotFoundError(
                    f"'{folder}' is not a saved CLAP model: no {name} (save a ClapModel and its "
                    "ClapFeatureExtractor or ClapProcessor there with save_pretrained)"
                )
        transformers = _transformers()
        try:
            model = transformers.ClapModel.from_pretrained(folder, local_files_only=True)
            extractor = transformers.ClapFeatureExtractor.from_pretrained(
                folder, local_files_only=True
            )
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise FileNotFoundError(f"cannot load a CLAP model from '{folder}': {first}") from None
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return cls(model, extractor).to(device).eval()

    @torch.no_grad()
    def forward(self, wav, lengths=None):
        """Unit-norm CLAP audio embeddings [B, projection_dim] of [B, samples] at 48 kHz.

        Each clip is cut to its relative length before the feature extractor (which pads
        shorter clips its own way). Not differentiable (the extractor runs in numpy).
        """
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        samples = wav.shape[1]
        if lengths is None:
            counts = [samples] * wav.shape[0]
        else:
            counts = [max(1, int(round(float(r) * samples))) for r in lengths]
        clips = [wav[i, :n].detach().float().cpu().numpy() for i, n in enumerate(counts)]
        inputs = self.feature_extractor(clips, sampling_rate=self.sample_rate, return_tensors="pt")
        kwargs = {"input_features": inputs["input_features"].to(self.device)}
        if "is_longer" in inputs:
            kwargs["is_longer"] = inputs["is_longer"].to(self.device)
        out = self.model.get_audio_features(**kwargs)
        emb = out if isinstance(out, torch.Tensor) else out.pooler_output  # transformers 4 / 5
        return F.normalize(emb.float(), dim=-1)
