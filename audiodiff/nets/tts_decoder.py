"""The TTS decoder: ``SpectrogramUNet`` over noisy mels, conditioned on frame-aligned content
(extra input channels) and on speaker / content tokens (cross-attention), each droppable on
its own for classifier-free guidance with one scale per condition.

Inputs of the U-Net (``in_channels = 3``), each [batch, n_mels, frames]:

0. x_t, the noisy normalised mel;
1. the content map (Grad-TTS's frame-aligned prior mean mu, or a voice-conversion content
   encoder's output; zeros when absent or dropped);
2. the content flag: 1 on frames where the content condition applies, 0 elsewhere
   (padding, dropped content, or a route without a content map).

Context of the cross-attention: ``[content tokens, speaker tokens]`` (either may be absent)
after the U-Net's own null token; a dropped condition's tokens are masked out. The U-Net's
own ``cond_drop_prob`` must be 0: dropping happens here, per condition.
"""

import torch
from torch import nn


class TTSDecoder(nn.Module):
    """Denoiser ``eps/v = decoder(x_t, t, **conditions)`` of the TTS model.

    Arguments
    ---------
    unet : audiodiff.nets.SpectrogramUNet
        With ``in_channels=3``, ``cond_drop_prob=0`` and ``context_dim`` set.
    speaker_drop_prob : float
        Training: probability of dropping only the speaker condition.
    content_drop_prob : float
        Training: probability of dropping only the content condition.
    both_drop_prob : float
        Training: probability of dropping both (the fully unconditional model that
        compositional guidance needs).

    Example
    -------
    >>> from audiodiff.nets.unet import SpectrogramUNet
    >>> unet = SpectrogramUNet(in_channels=3, base_channels=8, channel_mults=(1, 2),
    ...                        num_res_blocks=1, attention_levels=(1,), num_heads=2,
    ...                        cond_drop_prob=0.0, context_dim=6)
    >>> decoder = TTSDecoder(unet)
    >>> x, t = torch.randn(2, 1, 10, 12), torch.tensor([5, 9])
    >>> out = decoder(x, t, content_map=torch.randn(2, 10, 12),
    ...               frame_mask=torch.ones(2, 12, dtype=torch.bool),
    ...               speaker_tokens=torch.randn(2, 1, 6))
    >>> out.shape
    torch.Size([2, 1, 10, 12])
    """

    def __init__(self, unet, speaker_drop_prob=0.1, content_drop_prob=0.1, both_drop_prob=0.1):
        super().__init__()
        if unet.in_channels != 3:
            raise ValueError(f"the TTS U-Net needs in_channels=3, got {unet.in_channels}")
        if unet.cond_drop_prob:
            raise ValueError("set the U-Net's cond_drop_prob to 0: TTSDecoder drops conditions")
        self.unet = unet
        self.speaker_drop_prob = speaker_drop_prob
        self.content_drop_prob = content_drop_prob
        self.both_drop_prob = both_drop_prob

    def _training_keep(self, batch, device, speaker_keep, content_keep):
        """Draw the per-example condition dropout (training mode only)."""
        keep_s = torch.ones(batch, dtype=torch.bool, device=device)
        keep_c = torch.ones(batch, dtype=torch.bool, device=device)
        if speaker_keep is not None:
            keep_s = keep_s & speaker_keep.to(device).bool()
        if content_keep is not None:
            keep_c = keep_c & content_keep.to(device).bool()
        if self.training:
            u = torch.rand(batch, device=device)
            p_s, p_c, p_b = self.speaker_drop_prob, self.content_drop_prob, self.both_drop_prob
            drop_s = u < p_s
            drop_c = (u >= p_s) & (u < p_s + p_c)
            drop_b = (u >= p_s + p_c) & (u < p_s + p_c + p_b)
            keep_s = keep_s & ~(drop_s | drop_b)
            keep_c = keep_c & ~(drop_c | drop_b)
        return keep_s, keep_c

    def forward(
        self,
        x,
        t,
        content_map=None,
        frame_mask=None,
        content_tokens=None,
        speaker_tokens=None,
        content_keep=None,
        speaker_keep=None,
    ):
        """Predict the diffusion target.

        Arguments
        ---------
        x : torch.Tensor
            [batch, 1, n_mels, frames] noisy normalised mel x_t.
        t : torch.Tensor
            [batch] steps.
        content_map : torch.Tensor, optional
            [batch, n_mels, frames] frame-aligned content.
        frame_mask : torch.Tensor, optional
            [batch, frames] bool, frames of the utterance (default: all).
        content_tokens : torch.Tensor, optional
            [batch, k_c, context_dim] content context (the sentence-embedding route).
        speaker_tokens : torch.Tensor, optional
            [batch, k_s, context_dim] speaker context.
        content_keep, speaker_keep : torch.Tensor, optional
            [batch] bool; False = the null condition for that example (guidance's
            unconditional branches). None = kept.

        Returns
        -------
        torch.Tensor
            [batch, 1, n_mels, frames].
        """
        batch, _, n_mels, frames = x.shape
        keep_s, keep_c = self._training_keep(batch, x.device, speaker_keep, content_keep)
        if frame_mask is None:
            frame_mask = torch.ones(batch, frames, dtype=torch.bool, device=x.device)
        flag = (frame_mask.bool() & keep_c[:, None]).to(x.dtype)  # [B, T]
        if content_map is None:
            content = torch.zeros_like(x[:, 0])
        else:
            content = content_map.to(x.dtype) * flag[:, None, :]
        flag_map = flag[:, None, :].expand(batch, n_mels, frames)
        h = torch.cat([x, content[:, None], flag_map[:, None]], dim=1)

        tokens, masks = [], []
        for part, keep in ((content_tokens, keep_c), (speaker_tokens, keep_s)):
            if part is not None:
                tokens.append(part.to(x.dtype))
                masks.append(keep[:, None].expand(batch, part.shape[1]))
        context = torch.cat(tokens, dim=1) if tokens else None
        context_mask = torch.cat(masks, dim=1) if masks else None
        return self.unet(h, t, context=context, context_mask=context_mask)
