"""Load a trained waveform-diffusion experiment folder (DiffWave / SaShiMi on 1 s digits) and
generate audio: ``unconditional_generate(N)`` -> (N, 16000), ``generate(digits=[7], num=4)``."""

import logging

import torch

from audiodiff.inference.spectrogram_generator import SpectrogramGenerator
from audiodiff.nets.shift_ensemble import ShiftEnsemble
from audiodiff.training.samples import label_grid, write_sample_folder
from audiodiff.training.waveform_brain import waveform_mel_db

logger = logging.getLogger(__name__)


class WaveformGenerator(SpectrogramGenerator):
    """Generate waveforms from an experiment folder written by ``recipes/SC09/diffwave``.

    Loading (``from_hparams``: ``hyperparams.yaml``, ``labels.json``, the newest
    ``save/CKPT+*``, EMA weights when there are some) and label checks are those of
    :class:`SpectrogramGenerator`; sampling returns waveforms directly. The default sampler
    is DiffWave's fast schedule (6 network calls); ``sampler="ddpm"`` with ``steps=None``
    runs the full ancestral chain of the training schedule (200 steps in the recipe), and
    ``"ddim"`` / ``"dpm_solver"`` take any ``steps``.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters (see :meth:`from_hparams`).
    label_names : dict
        Label name -> list of class names (e.g. ``{"digit": ["zero", ..]}``).
    device : str
        "cpu", "cuda", ...
    compile : bool
        Sample through ``torch.compile(mode="reduce-overhead")`` (GPU).

    Example (needs a trained experiment folder; ``tests/recipes`` runs this path)::

        gen = WaveformGenerator.from_hparams("results/sc09_diffwave/1986")
        audio = gen.unconditional_generate(N=3)  # tensor (3, 16000)
        out = gen.generate(digits=[7, "nine"], num=2)  # digit model: out["wav"] is (4, 16000)
        gen.save("my_samples", out)
    """

    @torch.no_grad()
    def generate(
        self,
        digits=None,
        num=1,
        *,
        sampler="fast",
        steps=None,
        guidance_scale=None,
        seed=0,
        batch_size=64,
        progress=False,
    ):
        """Generate ``num`` waveforms per digit (every digit when ``digits`` is None).

        Arguments
        ---------
        digits : list, optional
            Digits as indices (``7``) or names (``"seven"``); only for digit models.
        num : int
            Samples per digit (in all, for an unconditional model).
        sampler : str
            "fast" (DiffWave's 6-step schedule), "ddpm", "ddim" or "dpm_solver".
        steps : int, optional
            Sampling steps (None: fast = 6, ddpm = the full chain, others = T).
        guidance_scale : float, optional
            Classifier-free guidance scale (default: the recipe's ``guidance_scale``).
        seed : int
            Seed of the sampling noise.
        batch_size : int
            Waveforms per sampling batch.
        progress : bool
            Show a progress bar over the steps.

        Returns
        -------
        dict with ``wav`` [n, samples] (float32, CPU) and ``grid`` (the labels of each).
        """
        values = {}
        if digits is not None:
            values["digit"] = self._resolve("digit", digits)
        grid = label_grid(self.label_classes, num, values=values)
        return {
            "wav": self._sample(grid, sampler, steps, guidance_scale, seed, batch_size, progress),
            "grid": grid,
        }

    def unconditional_generate(self, N=1, **kwargs):
        """Generate ``N`` waveforms without a label (a digit model samples its null label).

        Arguments
        ---------
        N : int
            Number of waveforms.
        **kwargs
            ``sampler``, ``steps``, ``seed``, ``batch_size``, ``progress`` as in
            :meth:`generate`.

        Returns
        -------
        torch.Tensor
            (N, samples) float32 waveforms on the CPU, e.g. (N, 16000) for 1 s at 16 kHz.
        """
        options = {"sampler": "fast", "steps": None, "seed": 0, "batch_size": 64}
        options.update(kwargs)
        return self._sample(
            [{} for _ in range(N)],
            options["sampler"],
            options["steps"],
            1.0,
            options["seed"],
            options["batch_size"],
            options.get("progress", False),
        )

    def use_shift_ensemble(self, shifts=None):
        """Sample through :class:`~audiodiff.nets.shift_ensemble.ShiftEnsemble`: every network
        call averaged over the input delayed by 0 .. patch_size - 1 samples (``shifts``: a
        count or a list): a fixed per-position pattern of a patched model cancels, which
        lowered (not removed) the trained patch-4 models' 4 kHz line; ``patch_size`` times
        the network calls. Returns ``self``."""
        net = self.sampling_model
        if isinstance(net, ShiftEnsemble):
            net = net.model
        patch = getattr(self.modules["model"], "patch_size", 1)
        self.sampling_model = ShiftEnsemble(net, patch if shifts is None else shifts)
        return self

    def _sample(self, grid, sampler, steps, guidance_scale, seed, batch_size, progress):
        hp = self.hparams
        generator = torch.Generator(device=self.device).manual_seed(seed)
        autocast = torch.bfloat16 if self.device.type == "cuda" else None
        wavs, start = [], 0
        while start < len(grid):
            chunk = grid[start : start + batch_size]
            try:
                x0 = self._sample_chunk(
                    chunk, sampler, steps, guidance_scale, generator, autocast, progress
                )
            except torch.OutOfMemoryError:
                if batch_size == 1:
                    raise
                batch_size = max(1, batch_size // 2)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                logger.warning(f"out of device memory: sampling on with batch_size {batch_size}")
                continue
            wavs.append(x0.reshape(len(chunk), -1).float().cpu())
            start += len(chunk)
        return torch.cat(wavs) if wavs else torch.zeros(0, hp["sample_shape"][-1])

    def save(self, out_dir, result):
        """Write :meth:`generate`'s result (or a (N, samples) tensor of
        :meth:`unconditional_generate`) as ``out_dir/wav/*.wav`` + a mel PNG grid."""
        if torch.is_tensor(result):
            result = {"wav": result, "grid": [{} for _ in range(len(result))]}
        wav = result["wav"]
        return write_sample_folder(
            out_dir,
            wav,
            waveform_mel_db(wav, self.hparams.get("mel"), self.hparams["sample_rate"]),
            result["grid"],
            self.hparams["sample_rate"],
            label_names=self.label_names,
        )
