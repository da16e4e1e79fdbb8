"""Exponential moving average (EMA) of a model's weights."""

import copy

import torch


class EMA(torch.nn.Module):
    """Hold an exponential moving average of ``model``'s parameters.

    Each ``update(model)`` does, for every parameter, averaged <- d * averaged + (1 - d) * p,
    and copies every buffer (e.g. normalisation statistics) as is. The decay is
    d = ``decay``, except during the first ``warmup_steps`` updates, where
    d = min(decay, (1 + n) / (10 + n)) with n the number of updates done so far (the ramp of
    TensorFlow's ``ExponentialMovingAverage``): early averages then forget the random
    initial weights quickly. The decay is computed on the buffers' device: no host sync.

    The averaged copy is frozen (requires_grad False) and stays in eval mode, even under
    ``EMA.train()``. Save and load it through ``state_dict`` (it holds ``averaged.*`` and
    ``num_updates``), e.g. as a module of SpeechBrain's checkpointer.

    Arguments
    ---------
    model : torch.nn.Module
        The model to average (deep-copied once here).
    decay : float
        The EMA decay, in [0, 1).
    warmup_steps : int
        Number of first updates that use the ramped decay; 0 = always ``decay``.

    Example
    -------
    >>> model = torch.nn.Linear(2, 1)
    >>> ema = EMA(model, decay=0.9)
    >>> ema.update(model)
    >>> ema(torch.zeros(3, 2)).shape
    torch.Size([3, 1])
    """

    def __init__(self, model, decay=0.999, warmup_steps=0):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.averaged = copy.deepcopy(unwrap_model(model)).eval().requires_grad_(False)
        self.decay = decay
        self.warmup_steps = warmup_steps
        self.register_buffer("num_updates", torch.tensor(0, dtype=torch.long))

    def current_decay(self):
        """Return the decay the next ``update`` will use, as a 0-dim float32 tensor.

        Example
        -------
        >>> EMA(torch.nn.Linear(1, 1), decay=0.99, warmup_steps=10).current_decay()
        tensor(0.1000)
        """
        n = self.num_updates.float()
        ramp = ((1 + n) / (10 + n)).clamp(max=self.decay)
        return torch.where(n < self.warmup_steps, ramp, torch.full_like(n, self.decay))

    @torch.no_grad()
    def update(self, model):
        """Move the averaged weights towards ``model``'s (DDP / ``torch.compile`` wrappers are
        unwrapped: :func:`unwrap_model`)."""
        decay = self.current_decay()
        model = unwrap_model(model)
        params = dict(model.named_parameters())
        for name, avg in self.averaged.named_parameters():
            avg.lerp_(params[name].detach().to(avg.dtype), (1 - decay).to(avg.dtype))
        buffers = dict(model.named_buffers())
        for name, avg in self.averaged.named_buffers():
            avg.copy_(buffers[name])
        self.num_updates += 1

    def train(self, mode=True):
        """Set train mode on this module but keep the averaged model in eval mode."""
        super().train(mode)
        self.averaged.eval()
        return self

    def forward(self, *args, **kwargs):
        """Call the averaged model with the given arguments."""
        return self.averaged(*args, **kwargs)


def unwrap_model(model):
    """The module inside any nesting of DDP / DataParallel / ``torch.compile`` wrappers.

    SpeechBrain compiles a module first and then wraps it for DDP (``DDP(compiled(net))``);
    the EMA, checkpoints and main-process-only sampling need the plain network underneath,
    whose parameter names carry no ``module.`` / ``_orig_mod.`` prefix.

    Arguments
    ---------
    model : torch.nn.Module
        A network, possibly wrapped.

    Returns
    -------
    torch.nn.Module
        The innermost network (``model`` itself when it is not wrapped).

    Example
    -------
    >>> net = torch.nn.Linear(2, 1)
    >>> unwrap_model(torch.nn.DataParallel(net)) is net, unwrap_model(net) is net
    (True, True)
    """
    wrappers = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)
    while True:
        if isinstance(model, wrappers):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):  # torch.compile
            model = model._orig_mod
        else:
            return model
