"""Load a trained spectrogram- or latent-diffusion experiment folder; generate audio, labelled
(digits, speakers) or unconditional (sentence spectrograms)."""

import json
import os

import torch
from speechbrain.utils.checkpoints import Checkpointer

from audiodiff.diffusion.generate import sample_from_model
from audiodiff.inference.diffusion_vocoder import resolve_vocoder
from audiodiff.inference.experiment import checkpoint_folder, read_experiment_hparams
from audiodiff.training.conditioning import (
    draw_prior_labels,
    labels_from_prior,
    prior_probabilities,
)
from audiodiff.training.data_stats import read_data_stats, sampling_data_variance
from audiodiff.training.samples import label_grid, labels_to_tensors, write_sample_folder


class SpectrogramGenerator:
    """Generate audio from an experiment folder written by a spectrogram recipe.

    Labelled models (AudioMNIST digits / speakers) sample with :meth:`generate`;
    unconditional ones (e.g. ``recipes/LJSpeech/spectrogram_ddpm``) with
    :meth:`unconditional_generate`.

    The folder holds ``hyperparams.yaml`` (written by SpeechBrain at training time),
    ``labels.json`` (digit and speaker names) and ``save/CKPT+*`` checkpoints; the newest
    checkpoint's EMA weights (or raw weights when there is no EMA) and normalisation
    statistics are loaded. A latent-diffusion experiment (``hparams/train_latent.yaml``) also
    has an ``autoencoder`` module: its weights and latent statistics come from the same
    checkpoint, and samples are decoded from latents to spectrograms before the vocoder.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters (see :meth:`from_hparams`).
    label_names : dict
        Label name -> list of class names.
    device : str
        "cpu", "cuda", ...
    compile : bool
        Sample through ``torch.compile(mode="reduce-overhead")`` (CUDA graphs; GPU).

    Example (needs a trained experiment folder; ``tests/recipes`` runs this path)::

        gen = SpectrogramGenerator.from_hparams("results/digit_diffusion/1986")
        out = gen.generate(digits=[7], speakers=["jackson"], num=2)
        out["wav"].shape  # torch.Size([2, 16384])
        gen.save("my_samples", out)

        gen = SpectrogramGenerator.from_hparams("results/spectrogram_ddpm/1986")
        out = gen.unconditional_generate(8)  # out["mel_db"]: [8, 64, 256]
    """

    def __init__(self, hparams, label_names, device="cpu", compile=False):
        self.hparams = hparams
        self.label_names = label_names
        self.device = torch.device(device)
        for name in ("model", "ema", "autoencoder", "normalizer", "schedule", "vocoder"):
            module = hparams["modules"].get(name)
            if module is not None:
                module.to(self.device).eval()
        self.modules = hparams["modules"]
        self.label_classes = dict(hparams["label_classes"])
        ema = self.modules.get("ema")  # `is None`, not bool(): a module may define __len__
        net = self.modules["model"] if ema is None else ema.averaged
        # CUDA graphs + kernel fusion: the first call per batch size compiles (about a minute)
        self.sampling_model = torch.compile(net, mode="reduce-overhead") if compile else net

    @classmethod
    def from_hparams(cls, source, device=None, checkpoint=None, compile=False, vocoder=None):
        """Load the experiment folder ``source`` (newest checkpoint unless one is named).

        ``compile=True`` samples through ``torch.compile(mode="reduce-overhead")`` (GPU).
        ``vocoder``: a trained vocoder folder (``recipes/LJSpeech/vocoder``) or a ``Vocoder``
        in place of the recipe's Griffin-Lim; its mel settings must match the recipe's
        (``VocoderMismatchError``, a ValueError, says which differ). An experiment trained
        with ``--vocoder DIR`` keeps that vocoder.
        """
        source = os.path.abspath(source)
        hparams = read_experiment_hparams(source)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if vocoder is not None:
            hparams["vocoder"] = vocoder
            if "vocoder" in hparams["modules"]:
                hparams["modules"]["vocoder"] = vocoder
        resolve_vocoder(hparams, device=device)
        save_dir = checkpoint_folder(source, checkpoint)
        modules = hparams["modules"]
        names = ("model", "ema", "autoencoder", "normalizer")
        recoverables = {k: modules[k] for k in names if k in modules}
        checkpointer = Checkpointer(save_dir, recoverables=recoverables)
        if checkpoint is not None:
            ckpt = next(c for c in checkpointer.list_checkpoints() if c.path.name == checkpoint)
            checkpointer.load_checkpoint(ckpt)
        else:
            checkpointer.recover_if_possible()
        labels_path = os.path.join(source, "labels.json")
        label_names = {}
        if os.path.isfile(labels_path):
            with open(labels_path, encoding="utf-8") as f:
                label_names = json.load(f)
        prior_path = os.path.join(source, "label_prior.json")  # labels drawn from the data
        if os.path.isfile(prior_path):
            with open(prior_path, encoding="utf-8") as f:
                hparams["label_prior"] = json.load(f)
        hparams["data_stats"] = read_data_stats(source)  # sample_data_variance: auto
        return cls(hparams, label_names, device=device, compile=compile)

    # ---- labels -----------------------------------------------------------------------------
    def _resolve(self, name, values):
        """Map user values (indices or names) to class indices, with clear errors."""
        if values is None:
            return None
        if name not in self.label_classes:
            known = ", ".join(self.label_classes) or "nothing (unconditional)"
            raise ValueError(f"this model is not {name}-conditioned (it is conditioned on {known})")
        names = [str(n) for n in self.label_names.get(name, [])]
        num = self.label_classes[name]
        out = []
        for value in values:
            text = str(value)
            if text in names and not text.isdigit():
                out.append(names.index(text))
            elif text.lstrip("-").isdigit() and 0 <= int(text) < num:
                out.append(int(text))
            else:
                listing = f"0-{num - 1}" + (f" ({', '.join(names)})" if names else "")
                raise ValueError(f"unknown {name} {value!r}: this model knows {listing}")
        return out

    # ---- generation -------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        digits=None,
        speakers=None,
        num=1,
        *,
        sampler=None,
        steps=None,
        guidance_scale=None,
        seed=0,
        batch_size=256,
        progress=False,
    ):
        """Generate ``num`` samples for every combination of the given digits/speakers.

        Labels the model is conditioned on but not given are sampled for every class, except
        those of the recipe's ``prior_labels`` (drawn from ``label_prior.json``, the training
        split's frequencies: how an unconditional model of ``prior_labels: [digit]`` samples).

        Returns
        -------
        dict with ``wav`` [n, samples], ``mel_db`` [n, n_mels, frames], ``grid`` (labels).
        """
        hp = self.hparams
        values = {
            "digit": self._resolve("digit", digits),
            "speaker": self._resolve("speaker", speakers),
        }
        values = {k: v for k, v in values.items() if v is not None}
        drawn = [n for n in labels_from_prior(hp) if n not in values]  # from the data prior
        asked = {k: v for k, v in self.label_classes.items() if k not in drawn}
        grid = label_grid(asked, num, values=values)
        priors = prior_probabilities(hp, hp.get("label_prior"))
        draws = torch.Generator().manual_seed(seed)
        net_grid = draw_prior_labels(grid, {n: priors[n] for n in drawn}, generator=draws)
        sampler, steps = sampler or hp["sampler"], steps or hp["sample_steps"]
        generator = torch.Generator(device=self.device).manual_seed(seed)
        autocast = torch.bfloat16 if self.device.type == "cuda" else None
        mels, wavs = [], []
        for start in range(0, len(grid), batch_size):
            chunk = net_grid[start : start + batch_size]
            x0 = self._sample_chunk(
                chunk, sampler, steps, guidance_scale, generator, autocast, progress
            )
            mel_db = self.decode(x0)
            mels.append(mel_db)
            wavs.append(self.modules["vocoder"](mel_db))
        return {"wav": torch.cat(wavs), "mel_db": torch.cat(mels), "grid": grid}

    @torch.no_grad()
    def unconditional_generate(
        self, num, *, sampler=None, steps=None, seed=0, batch_size=256, progress=False
    ):
        """Generate ``num`` samples of an unconditional model.

        Arguments
        ---------
        num : int
            Number of samples.
        sampler : str, optional
            "ddpm", "ddim" or "dpm_solver" (default: the recipe's).
        steps : int, optional
            Sampling steps (default: the recipe's).
        seed : int
            Seed of the starting noise (the same seed gives the same samples).
        batch_size : int
            Samples per network batch.
        progress : bool
            Show a progress bar over the steps.

        Returns
        -------
        dict with ``wav`` [num, samples], ``mel_db`` [num, n_mels, frames], ``grid`` (``num``
        empty label dicts).

        Raises
        ------
        ValueError
            If the model is conditioned on labels (use :meth:`generate`) or ``num`` < 1.
        """
        if self.label_classes:
            known = ", ".join(self.label_classes)
            raise ValueError(
                f"this model is conditioned on {known}: use generate(...) with its labels"
            )
        if num < 1:
            raise ValueError(f"num must be >= 1, got {num}")
        return self.generate(
            num=num,
            sampler=sampler,
            steps=steps,
            seed=seed,
            batch_size=batch_size,
            progress=progress,
        )

    def _sample_chunk(self, chunk, sampler, steps, guidance_scale, generator, autocast, progress):
        """Sample x0 for the labels of ``chunk`` (a list of label dicts) with the recipe's
        schedule, prediction, eta and clipping; ``guidance_scale`` None = the recipe's."""
        hp = self.hparams
        return sample_from_model(
            self.sampling_model,
            self.modules["schedule"],
            (len(chunk), *hp["sample_shape"]),
            prediction=hp["prediction"],
            labels=labels_to_tensors(chunk, device=self.device),
            sampler=sampler,
            steps=steps,
            guidance_scale=hp["guidance_scale"] if guidance_scale is None else guidance_scale,
            eta=hp.get("eta", 0.0),
            clip_x0=hp.get("clip_x0"),
            generator=generator,
            autocast_dtype=autocast,
            progress=progress,
            data_variance=sampling_data_variance(
                hp.get("sample_data_variance"), hp.get("data_stats")
            ),
        )

    @torch.no_grad()
    def decode(self, x0):
        """dB spectrograms [n, n_mels, frames] from sampled x0 (latents are decoded first)."""
        autoencoder = self.modules.get("autoencoder")
        if autoencoder is not None:
            x0 = autoencoder.decode_normalized(x0)
        return self.modules["normalizer"].denormalize(x0.squeeze(1))

    def save(self, out_dir, result, save_mels=False):
        """Write the result of :meth:`generate` as ``out_dir/wav/*.wav`` + a PNG grid; with
        ``save_mels``, also ``out_dir/mel_db.pt`` (the [n, n_mels, frames] dB spectrograms
        before the vocoder, float16, for spectrogram metrics)."""
        paths = write_sample_folder(
            out_dir,
            result["wav"],
            result["mel_db"],
            result["grid"],
            self.hparams["sample_rate"],
            label_names=self.label_names,
        )
        if save_mels:
            torch.save(result["mel_db"].detach().half().cpu(), os.path.join(out_dir, "mel_db.pt"))
        return paths
