"""DiffWave (Kong et al. 2021): a non-causal WaveNet-like denoiser over raw waveforms.

Call contract (shared by every audiodiff network): ``model(x_t, t, mel=None, **labels)`` with
``x_t`` [batch, 1, samples], ``t`` [batch] (long, or float for aligned fast-schedule steps),
``mel`` [batch, n_mels, frames] in the vocoder mode and labels such as ``digit=[batch] long``
(``-1`` = the null label of classifier-free guidance). Output: [batch, 1, samples].

Implementation notes (same function as the paper's network, different kernels): the features
run time-major, [batch, samples, channels], so that every 1x1 convolution is one matrix
product (cuBLAS GEMM), and the dilated convolution of each layer is one matrix product too:
its ``kernel_size`` shifted copies of the input (and the upsampled mel, in the vocoder mode)
are concatenated along channels and multiplied by one [2C, k C (+ n_mels)] weight; on CUDA,
implicit-GEMM Triton kernels skip the copies and read the shifted rows in place
(:mod:`audiodiff.nets.dilated_conv_triton`), and the local conditioning (mel, label template)
is a second product with the last columns of that weight. The
gated activation tanh(filter) * sigmoid(gate) reads both halves of that one product (its
backward is one Triton kernel on CUDA: :mod:`audiodiff.nets.gated_activation_triton`). The
per-layer projections of the step embedding are one Linear for all layers. There are no
data-dependent Python branches in ``forward``, so ``torch.compile`` traces it whole, and under
bf16 autocast the whole residual stream stays bf16.

Code -> paper (sec. 3, fig. 2): ``residual_channels`` C, ``residual_layers`` N,
``dilation_cycle`` m (dilation of layer i: 2 ** (i mod m)), ``step_embed`` the diffusion-step
embedding, ``skip`` the sum of the skip connections (scaled by 1/sqrt(N)).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from audiodiff.nets.dilated_conv_triton import dilated_linear, dilated_linear_reference
from audiodiff.nets.gated_activation_triton import gated_activation, gated_activation_reference
from audiodiff.nets.waveform_conditioning import LabelTemplate, MelUpsampler, StepLabelEmbedding


def diffwave_receptive_field(residual_layers, dilation_cycle, kernel_size=3):
    """Receptive field (in samples) of DiffWave: 1 + (k - 1) * sum_i 2 ** (i mod m).

    Arguments
    ---------
    residual_layers : int
        Number of residual layers N.
    dilation_cycle : int
        Dilation cycle length m.
    kernel_size : int
        Kernel size k of the dilated convolutions.

    Returns
    -------
    int

    Example
    -------
    >>> diffwave_receptive_field(36, 12)  # the paper's unconditional model: 1.5 s at 16 kHz
    24571
    """
    dilations = [2 ** (i % dilation_cycle) for i in range(residual_layers)]
    return 1 + (kernel_size - 1) * sum(dilations)


class _ResidualLayer(nn.Module):
    """One DiffWave layer on time-major features [batch, samples, C].

    y = x + step; h = W_dil [shift_0(y), .., shift_{k-1}(y), local]; a = tanh(h_f) * sigmoid(h_g);
    (residual, skip) = W_out a; returns ((x + residual) / sqrt(2), skip).
    """

    def __init__(self, channels, dilation, kernel_size, cond_channels, dilated_kernel="auto"):
        super().__init__()
        self.channels = channels
        self.dilated_kernel = dilated_kernel
        self.dilation = dilation
        self.kernel_size = kernel_size
        self.dilated = nn.Linear(kernel_size * channels + cond_channels, 2 * channels)
        self.output = nn.Linear(channels, 2 * channels)
        nn.init.kaiming_normal_(self.dilated.weight)
        nn.init.kaiming_normal_(self.output.weight)

    def forward(self, x, step, local=None):
        h = self.output(self.gated(x, step, local))
        residual, skip = h.chunk(2, dim=-1)
        return (x + residual) * (1 / math.sqrt(2)), skip

    def gated(self, x, step, local=None, copies=1):
        """The gated activation tanh(filter) * sigmoid(gate), [batch, samples, C].

        ``copies=2`` returns it twice (two tensors whose gradients the backward adds: one for
        the residual projection, one for the fused skip product)."""
        y = x + step[:, None, :]
        weight, bias, d, k = self.dilated.weight, self.dilated.bias, self.dilation, self.kernel_size
        if self.dilated_kernel != "auto":
            a = gated_activation_reference(dilated_linear_reference(y, weight, bias, d, k, local))
            return a if copies == 1 else (a, a)
        if local is None:  # Triton kernels where they run
            h = dilated_linear(y, weight, bias, d, k)
        else:  # the taps by the kernels, the (unshifted) local features by one more product
            taps = k * self.channels
            h = dilated_linear(y, weight[:, :taps], bias, d, k)
            h = h + F.linear(local.to(h.dtype), weight[:, taps:].to(h.dtype))
        return gated_activation(h, copies)


class DiffWave(nn.Module):
    """DiffWave denoiser: unconditional, label-conditional and/or mel-conditional (vocoder).

    Input 1x1 projection + ReLU, ``residual_layers`` gated residual layers with dilations
    1, 2, .., 2 ** (dilation_cycle - 1) repeated, the skip sum scaled by 1/sqrt(N), 1x1 +
    ReLU, and a zero-initialised 1x1 output projection. The step embedding (with the label
    embeddings added, see :class:`StepLabelEmbedding`) is projected per layer and added to the
    layer input; in the vocoder mode (``n_mels`` set) the mel spectrogram is upsampled
    (:class:`MelUpsampler`) and enters every layer's dilated convolution.

    The paper's sizes: unconditional / class-conditional SC09, C = 256, N = 36, m = 12,
    T = 200; vocoder, C = 64, N = 30, m = 10, T = 50.

    Arguments
    ---------
    residual_channels : int
        Channels C of the residual stream.
    residual_layers : int
        Number of residual layers N.
    dilation_cycle : int
        Dilation cycle length m.
    kernel_size : int
        Odd kernel size of the dilated convolutions.
    label_classes : dict, optional
        Label name -> number of classes, e.g. ``{"digit": 10}``. None: no labels.
    cond_drop_prob : float
        Probability of dropping each label to null in training mode.
    n_mels : int, optional
        Mel bands of the local conditioner (vocoder mode); None: no mel input.
    upsample_factors : tuple of int
        Mel upsampling factors (product = hop length), vocoder mode only.
    step_embed_dim : int
        Size of the sinusoidal step features.
    embed_dim : int
        Size of the step/label embedding vector.
    label_template_frames : int
        If > 0 (label models only), a learned [``label_template_channels``, frames] sequence
        per class (:class:`LabelTemplate`) is upsampled to the waveform and enters every
        layer's dilated convolution beside the mel: time-varying label conditioning, an
        audiodiff option beyond the paper. 0: labels only through the step embedding.
    label_template_channels : int
        Channels of the label templates.
    patch_size : int
        Consecutive samples folded into one time step (1 = the paper). With ``p`` > 1 the
        layers run over samples / p steps with ``p`` input and output channels: p times less
        compute per step and a p times longer receptive field in samples (not in the vocoder
        mode). An audiodiff option beyond the paper.
    dilated_kernel : str
        ``"auto"``: the dilated convolutions run as implicit-GEMM Triton kernels on CUDA
        (:mod:`audiodiff.nets.dilated_conv_triton`: no shifted copies of the features; the
        local conditioning, if any, adds a second product), and as one matrix product over
        concatenated shifted copies elsewhere, and the gated activation's backward is one
        Triton kernel (:mod:`audiodiff.nets.gated_activation_triton`); ``"torch"``: always
        plain PyTorch (the concatenation form). The same function and parameters.

    Example
    -------
    >>> model = DiffWave(residual_channels=8, residual_layers=4, dilation_cycle=2,
    ...                  label_classes={"digit": 10})
    >>> x_t = torch.randn(2, 1, 100)
    >>> model(x_t, torch.tensor([3, 150]), digit=torch.tensor([7, -1])).shape
    torch.Size([2, 1, 100])
    >>> templated = DiffWave(residual_channels=8, residual_layers=2, dilation_cycle=2,
    ...                      label_classes={"digit": 10}, label_template_frames=4)
    >>> templated(x_t, torch.tensor([3, 150]), digit=torch.tensor([7, -1])).shape
    torch.Size([2, 1, 100])
    >>> patched = DiffWave(residual_channels=8, residual_layers=2, dilation_cycle=2, patch_size=4)
    >>> patched(torch.randn(2, 1, 102), torch.tensor([3, 150])).shape
    torch.Size([2, 1, 102])
    >>> vocoder = DiffWave(residual_channels=8, residual_layers=2, dilation_cycle=2,
    ...                    n_mels=20, upsample_factors=(4, 4))
    >>> vocoder(torch.randn(1, 1, 64), torch.tensor([5]), mel=torch.randn(1, 20, 5)).shape
    torch.Size([1, 1, 64])
    """

    def __init__(
        self,
        residual_channels=64,
        residual_layers=30,
        dilation_cycle=10,
        kernel_size=3,
        label_classes=None,
        cond_drop_prob=0.1,
        n_mels=None,
        upsample_factors=(16, 16),
        step_embed_dim=128,
        embed_dim=512,
        label_template_frames=0,
        label_template_channels=16,
        patch_size=1,
        dilated_kernel="auto",
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if dilated_kernel not in ("auto", "torch"):
            raise ValueError(f"dilated_kernel must be 'auto' or 'torch', got {dilated_kernel!r}")
        if patch_size < 1 or (n_mels and patch_size != 1):
            raise ValueError(f"patch_size must be >= 1 (1 in the vocoder mode), got {patch_size}")
        channels = residual_channels
        self.patch_size = patch_size
        self.residual_channels = channels
        self.residual_layers = residual_layers
        self.dilation_cycle = dilation_cycle
        self.kernel_size = kernel_size
        self.n_mels = n_mels
        self.step_embed = StepLabelEmbedding(
            step_embed_dim, embed_dim, label_classes, cond_drop_prob
        )
        self.input_projection = nn.Linear(patch_size, channels)
        # the step projections of all layers in one matrix product: [batch, N * C]
        self.step_projection = nn.Linear(embed_dim, residual_layers * channels)
        self.upsampler = MelUpsampler(upsample_factors) if n_mels else None
        self.template = None
        if label_template_frames > 0 and label_classes:  # unconditional models: no template
            self.template = LabelTemplate(
                label_classes, label_template_channels, label_template_frames
            )
        local_channels = (n_mels or 0) + (label_template_channels if self.template else 0)
        self.layers = nn.ModuleList(
            _ResidualLayer(
                channels, 2 ** (i % dilation_cycle), kernel_size, local_channels, dilated_kernel
            )
            for i in range(residual_layers)
        )
        self.skip_projection = nn.Linear(channels, channels)
        self.output_projection = nn.Linear(channels, patch_size)
        nn.init.kaiming_normal_(self.input_projection.weight)
        nn.init.kaiming_normal_(self.skip_projection.weight)
        nn.init.zeros_(self.output_projection.weight)
        nn.init.zeros_(self.output_projection.bias)

    @property
    def receptive_field(self):
        """int: number of input samples that one output sample sees (at most)."""
        steps = diffwave_receptive_field(
            self.residual_layers, self.dilation_cycle, self.kernel_size
        )
        return steps * self.patch_size

    @property
    def label_classes(self):
        """dict: label name -> number of classes."""
        return self.step_embed.label_classes

    def num_parameters(self):
        """int: the number of parameters."""
        return sum(p.numel() for p in self.parameters())

    def run_layers(self, h, steps, local):
        """The residual layers: the sum of their skip outputs, [batch, steps_len, C].

        Under ``torch.compile`` with autograd on (training), the skip halves of all layers'
        output projections run as one matrix product (:meth:`run_layers_fused_skip`), which
        measured 3-6% faster per training step on an H100 at paper size; otherwise (eager,
        sampling) layer by layer (:meth:`run_layers_per_layer`), which keeps the memory of
        one layer. Both compute the same function with the same parameters.

        Arguments
        ---------
        h : torch.Tensor
            [batch, steps_len, C] input features.
        steps : torch.Tensor
            [batch, N, C] per-layer step (and label) projections.
        local : torch.Tensor, optional
            [batch, steps_len, channels] local conditioning (mel, label template).

        Returns
        -------
        torch.Tensor
            [batch, steps_len, C], not yet scaled by 1/sqrt(N).
        """
        if torch.is_grad_enabled() and torch.compiler.is_compiling():
            return self.run_layers_fused_skip(h, steps, local)
        return self.run_layers_per_layer(h, steps, local)

    def run_layers_per_layer(self, h, steps, local):
        """:meth:`run_layers` one layer at a time: skip = sum_i skip_i."""
        skip = None
        for i, layer in enumerate(self.layers):
            h, skip_i = layer(h, steps[:, i], local)
            skip = skip_i if skip is None else skip + skip_i
        return skip

    def run_layers_fused_skip(self, h, steps, local):
        """:meth:`run_layers` with one skip product: [a_1 .. a_N] [W_skip_1 .. W_skip_N]^T.

        Each layer applies only the residual half of its output projection; the gated
        activations of all layers are concatenated ([batch, steps_len, N C]) and multiplied once
        by the concatenated skip halves, with the skip biases summed. Under ``torch.compile``
        the gated activations are written straight into the concatenation, and the per-layer
        skip outputs and their running sum (a read and a write of [batch, steps_len, C] each
        per layer) disappear.
        """
        channels = self.residual_channels
        gated = []
        for i, layer in enumerate(self.layers):
            a, a_skip = layer.gated(h, steps[:, i], local, copies=2)
            out = layer.output
            residual = F.linear(a, out.weight[:channels], out.bias[:channels])
            h = (h + residual) * (1 / math.sqrt(2))
            gated.append(a_skip)
        weight = torch.cat([layer.output.weight[channels:] for layer in self.layers], dim=1)
        bias = torch.stack([layer.output.bias[channels:] for layer in self.layers]).sum(0)
        return F.linear(torch.cat(gated, dim=-1), weight, bias)

    def upsample_mel(self, mel, length):
        """The mel upsampled to the waveform, time-major: [batch, length, n_mels].

        It depends on the mel only, not on x_t or t: a sampler can compute it once per
        utterance and pass it to every step as ``local_mel`` (the vocoder does).

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] (conditioning-scaled) mel spectrogram.
        length : int
            Waveform samples.

        Returns
        -------
        torch.Tensor
            [batch, length, n_mels].
        """
        if self.upsampler is None:
            raise ValueError("this DiffWave takes no mel (n_mels=None)")
        return self.upsampler(mel, length).transpose(1, 2)

    def forward(self, x, t, mel=None, local_mel=None, **labels):
        """Predict the network target (eps, v or x0, decided by the caller's loss).

        Arguments
        ---------
        x : torch.Tensor
            [batch, 1, samples] noisy waveform.
        t : torch.Tensor
            [batch] (or scalar) long or float diffusion steps.
        mel : torch.Tensor, optional
            [batch, n_mels, frames] mel spectrogram (vocoder mode only, then required unless
            ``local_mel`` is given).
        local_mel : torch.Tensor, optional
            [batch, samples, n_mels] the mel already upsampled (:meth:`upsample_mel`), in
            place of ``mel``.
        **labels : torch.Tensor
            One [batch] long tensor per name in ``label_classes`` (``-1`` = no label).

        Returns
        -------
        torch.Tensor
            [batch, 1, samples].
        """
        batch, _, length = x.shape
        if t.ndim == 0:
            t = t.expand(batch)
        has_mel = mel is not None or local_mel is not None
        if has_mel == (self.upsampler is None):
            want = "needs a mel spectrogram" if not has_mel else "takes no mel (n_mels=None)"
            raise ValueError(f"this DiffWave {want}")
        if self.template is None:
            emb = self.step_embed(t, labels)
        else:  # one label dropout for both conditioners
            labels = self.step_embed.resolve_labels(labels, batch, x.device)
            emb = self.step_embed(t, labels, resolved=True)
        steps = self.step_projection(emb).unflatten(-1, (self.residual_layers, -1))
        patch = self.patch_size
        steps_len = -(-length // patch)  # time steps of the layers
        local = []  # time-major local conditioning [batch, steps_len, channels]
        if local_mel is not None:
            local.append(local_mel)
        elif mel is not None:
            local.append(self.upsample_mel(mel, length))
        if self.template is not None:
            local.append(self.template(labels, steps_len).to(emb.dtype))
        local = torch.cat(local, dim=-1) if local else None
        if steps_len * patch != length:
            x = F.pad(x, (0, steps_len * patch - length))
        # time-major: [batch, 1, samples] -> [batch, steps_len, patch] -> [batch, steps_len, C]
        h = F.relu(self.input_projection(x.reshape(batch, steps_len, patch)))
        skip = self.run_layers(h, steps, local)
        h = F.relu(self.skip_projection(skip * (1 / math.sqrt(self.residual_layers))))
        out = self.output_projection(h).reshape(batch, 1, steps_len * patch)
        return out[..., :length]
