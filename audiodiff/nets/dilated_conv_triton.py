"""DiffWave's dilated convolution on time-major features as implicit-GEMM Triton kernels.

The plain PyTorch form (``_ResidualLayer.gated``) concatenates the ``k`` shifted copies of the
input [batch, samples, C] into [batch, samples, k C] and multiplies that by the [2 C, k C]
weight; its backward multiplies back to [batch, samples, k C] and sums the shifted copies. On
an H100 at paper size those copies and shift-sums took about 30 of the 103 ms of kernels of a
compiled training step. Here no copy is made: each kernel reads the shifted rows straight from
the unshifted tensor (rows outside the clip read as zero, the convolution's zero padding).

- :func:`dilated_linear`: h[b, t] = bias + sum_j W_j y[b, t + j d - p], p = d (k - 1) / 2,
  with autograd (the input gradient is a Triton kernel too, the weight gradient
  :func:`dilated_weight_grad`); falls back to the concatenation form where the kernels do
  not run (see :func:`triton_usable`: fp32, CPU without ``TRITON_INTERPRET=1``, channels not
  a multiple of 16).
- :func:`dilated_linear_reference`: the concatenation form, the definition the kernels are
  tested against.

One kernel, a matrix product over shifted rows (implicit GEMM), does the forward (reduce over
the k taps x C input channels) and the input gradient (the same kernel with the shifts
reversed, reducing over the k taps x 2 C output channels). The weight gradient reduces over
batch x samples: one cuBLAS product per tap over the flattened rows, which needs no copy
either (:func:`dilated_weight_grad`); it replaced a Triton weight-gradient kernel that an
H200 training step measured 0.7-2.8 ms slower (``benchmarks/RESULTS.md``).
"""

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - triton ships with the CUDA builds of torch
    triton = None


def dilated_linear_reference(y, weight, bias, dilation, kernel_size, local=None):
    """The dilated convolution as one matrix product over concatenated shifted copies.

    Arguments
    ---------
    y : torch.Tensor
        [batch, samples, C] time-major input.
    weight : torch.Tensor
        [out_channels, kernel_size * C (+ local channels)]; columns j C .. (j + 1) C - 1
        are tap j, the last ones multiply ``local``.
    bias : torch.Tensor, optional
        [out_channels].
    dilation : int
        Dilation d.
    kernel_size : int
        Odd number of taps k.
    local : torch.Tensor, optional
        [batch, samples, local channels] unshifted features appended to the taps (DiffWave's
        upsampled mel, label templates).

    Returns
    -------
    torch.Tensor
        [batch, samples, out_channels].

    Example
    -------
    >>> y = torch.zeros(1, 5, 2); y[0, 2] = 1.0  # an impulse at t = 2
    >>> w = torch.cat([torch.eye(2), 2 * torch.eye(2), 3 * torch.eye(2)], dim=1)
    >>> dilated_linear_reference(y, w, None, dilation=1, kernel_size=3)[0, :, 0].tolist()
    [0.0, 3.0, 2.0, 1.0, 0.0]
    """
    length = y.shape[1]
    pad = dilation * (kernel_size - 1) // 2
    padded = torch.nn.functional.pad(y, (0, 0, pad, pad))
    taps = [padded[:, j * dilation : j * dilation + length] for j in range(kernel_size)]
    if local is not None:
        taps.append(local.to(y.dtype))
    bias = bias.to(y.dtype) if bias is not None else None
    return torch.nn.functional.linear(torch.cat(taps, dim=-1), weight.to(y.dtype), bias)


def _block_dividing(size, largest=128):
    """The largest power of two <= ``largest`` (and >= 16) that divides ``size``, else None."""
    block = largest
    while block >= 16:
        if size % block == 0:
            return block
        block //= 2
    return None


def triton_usable(y, channels):
    """bool: whether :func:`dilated_linear` runs its Triton kernels for this input: on CUDA
    in bf16 / fp16 (an H100 step in fp32 was 27% slower with them), on the CPU only through
    Triton's interpreter (``TRITON_INTERPRET=1``, the tests), and channels a multiple of 16.

    Example
    -------
    >>> triton_usable(torch.zeros(1, 8, 12), 12)  # channels not a multiple of 16
    False
    """
    if triton is None or channels % 16 != 0:
        return False
    if y.is_cuda:  # fp32 (TF32) measured slower than cuBLAS on the concatenation: 16-bit only
        return y.dtype in (torch.bfloat16, torch.float16)
    return y.device.type == "cpu" and _interpreting()


def _interpreting():
    import os

    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def dilated_weight_grad(grad, y, dilation, taps):
    """The weight gradient of the dilated convolution as one cuBLAS product per tap.

    dW[n, j C + k] = sum_{b, t} grad[b, t, n] y[b, t + s_j, k], s_j = j d - p, with rows
    outside the clip reading as zero. Flattening [batch, samples] to rows makes tap j one
    product over contiguous row ranges, grad[i] y[i + s_j], except that near the ends of the
    items it pairs rows of neighbouring items; those |s_j| rows per item are subtracted again
    (a product over [batch - 1, |s_j|, C]). No copy of the features is made, and the big
    products run at cuBLAS speed (fp32 output on CUDA).

    Arguments
    ---------
    grad : torch.Tensor
        [batch, samples, N] gradient of the output.
    y : torch.Tensor
        [batch, samples, C] input of the convolution (contiguous).
    dilation : int
        Dilation d.
    taps : int
        Odd number of taps k.

    Returns
    -------
    torch.Tensor
        [N, taps C] (fp32 for 16-bit CUDA inputs, else y's dtype).

    Example
    -------
    >>> y, g, w = torch.randn(3, 20, 4), torch.randn(3, 20, 6), torch.randn(6, 12)
    >>> h = dilated_linear_reference(y, w.requires_grad_(), None, dilation=8, kernel_size=3)
    >>> want, = torch.autograd.grad(h, w, g)
    >>> torch.allclose(dilated_weight_grad(g, y, 8, 3), want, atol=1e-4)
    True
    """
    batch, length, channels = y.shape
    nout = grad.shape[-1]
    g, a = grad.reshape(-1, nout), y.reshape(-1, channels)
    rows = g.shape[0]
    wide = {"out_dtype": torch.float32} if g.is_cuda and g.dtype != torch.float32 else {}
    pad = dilation * (taps - 1) // 2
    blocks = []
    for j in range(taps):
        shift = j * dilation - pad
        if abs(shift) >= length:  # the tap reads only the zero padding
            blocks.append(a.new_zeros(nout, channels, dtype=wide.get("out_dtype", a.dtype)))
            continue
        if shift >= 0:  # grad[i] y[i + shift]; item b's last rows met item b + 1's first
            block = torch.mm(g[: rows - shift].t(), a[shift:], **wide)
            cross_g, cross_a = grad[:-1, length - shift :], y[1:, :shift]
        else:  # grad[i] y[i - q]; item b's first rows met item b - 1's last
            q = -shift
            block = torch.mm(g[q:].t(), a[: rows - q], **wide)
            cross_g, cross_a = grad[1:, :q], y[:-1, length - q :]
        if shift != 0 and batch > 1:
            cross = torch.mm(cross_g.reshape(-1, nout).t(), cross_a.reshape(-1, channels), **wide)
            block = block - cross
        blocks.append(block)
    return torch.cat(blocks, dim=1)


if triton is not None:

    def _matmul_configs():
        if _interpreting():  # the CPU interpreter: one small config
            return [triton.Config({"BLOCK_T": 32, "BLOCK_N": 16}, num_warps=4)]
        return [
            # the fastest of 22 tiles on an H100 (benchmarks/bench_dilated_kernels.py)
            triton.Config({"BLOCK_T": 128, "BLOCK_N": 128}, num_stages=3, num_warps=8),
            triton.Config({"BLOCK_T": 128, "BLOCK_N": 256}, num_stages=4, num_warps=8),
            triton.Config({"BLOCK_T": 128, "BLOCK_N": 128}, num_stages=3, num_warps=4),
            triton.Config({"BLOCK_T": 256, "BLOCK_N": 128}, num_stages=4, num_warps=8),
        ]

    @triton.autotune(configs=_matmul_configs(), key=["T", "KA", "NOUT"])
    @triton.jit
    def _shifted_taps_matmul(
        a_ptr,
        w_ptr,
        bias_ptr,
        out_ptr,
        T,
        KA,
        NOUT,
        stride_ab,
        stride_at,
        w_tap_stride,
        stride_wk,
        stride_wn,
        stride_ob,
        stride_ot,
        shift0,
        shift_step,
        TAPS: tl.constexpr,
        HAS_BIAS: tl.constexpr,
        BLOCK_K: tl.constexpr,
        BLOCK_T: tl.constexpr,
        BLOCK_N: tl.constexpr,
    ):
        """out[b, t, n] = bias[n] + sum_j sum_k a[b, t + shift0 + j shift_step, k] w_j[k, n].

        w_j[k, n] lives at w_ptr + j w_tap_stride + k stride_wk + n stride_wn. Rows of ``a``
        outside [0, T) read as zero. KA must be a multiple of BLOCK_K; channels contiguous.
        (Adding a per-item step to ``a`` while reading it made the forward about a third
        slower on an H100: the tiles then pass through registers on their way to the tensor
        cores.)
        """
        pid_n = tl.program_id(0)  # fastest: the programs sharing a tile of ``a`` run together
        pid_t = tl.program_id(1)
        batch = tl.program_id(2)
        offs_t = pid_t * BLOCK_T + tl.arange(0, BLOCK_T)
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        offs_k = tl.arange(0, BLOCK_K)
        n_ok = offs_n < NOUT
        a_base = a_ptr + batch.to(tl.int64) * stride_ab
        acc = tl.zeros((BLOCK_T, BLOCK_N), dtype=tl.float32)
        a_ptrs = a_base + offs_t[:, None].to(tl.int64) * stride_at + offs_k[None, :]
        w_ptrs = w_ptr + offs_k[:, None] * stride_wk + offs_n[None, :] * stride_wn
        k_steps = KA // BLOCK_K
        # one loop over taps x channel blocks, so that the pipeliner overlaps the taps' loads
        for it in range(0, TAPS * k_steps):
            tap = it // k_steps
            k0 = (it - tap * k_steps) * BLOCK_K
            shift = shift0 + tap * shift_step
            rows = offs_t + shift
            row_ok = (rows >= 0) & (rows < T)
            a = tl.load(
                a_ptrs + (shift.to(tl.int64) * stride_at + k0), mask=row_ok[:, None], other=0.0
            )
            w = tl.load(
                w_ptrs + (tap * w_tap_stride + k0 * stride_wk), mask=n_ok[None, :], other=0.0
            )
            acc = tl.dot(a, w, acc)
        if HAS_BIAS:
            acc += tl.load(bias_ptr + offs_n, mask=n_ok, other=0.0).to(tl.float32)[None, :]
        out_ptrs = out_ptr + batch.to(tl.int64) * stride_ob
        out_ptrs += offs_t[:, None].to(tl.int64) * stride_ot + offs_n[None, :]
        mask = (offs_t[:, None] < T) & n_ok[None, :]
        tl.store(out_ptrs, acc.to(out_ptr.dtype.element_ty), mask=mask)

    def _kernel_and_meta(autotuned, config, **meta):
        """The autotuned kernel wrapped for ``torch.compile`` (``config`` None), or its raw
        kernel with the tile ``config`` (the kernel benchmark); and its constexpr arguments."""
        if config is None:
            return torch.library.wrap_triton(autotuned), meta
        return autotuned.fn, {**meta, **config}

    def _launch_taps_matmul(a, w, bias, out, shift0, shift_step, taps, w_strides, config=None):
        """Launch :func:`_shifted_taps_matmul` (a, out: [batch, T, channels], contiguous).

        ``config``: None = the autotuned kernel (traceable by ``torch.compile``), else a dict
        of BLOCK_T, BLOCK_N (and optionally BLOCK_K, num_warps, num_stages) for the raw kernel
        (the kernel benchmark).
        """
        batch, length, ka = a.shape
        nout = out.shape[-1]
        kernel, meta = _kernel_and_meta(
            _shifted_taps_matmul, config, BLOCK_K=_block_dividing(ka, 64)
        )

        def grid(meta):
            return (triton.cdiv(nout, meta["BLOCK_N"]), triton.cdiv(length, meta["BLOCK_T"]), batch)

        kernel[grid](
            a,
            w,
            bias if bias is not None else a,
            out,
            length,
            ka,
            nout,
            a.stride(0),
            a.stride(1),
            *w_strides,
            out.stride(0),
            out.stride(1),
            shift0,
            shift_step,
            TAPS=taps,
            HAS_BIAS=bias is not None,
            **meta,
        )
        return out

    @torch.library.triton_op("audiodiff::dilated_forward", mutates_args={})
    def dilated_forward(
        y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int, taps: int
    ) -> torch.Tensor:
        """h[b, t] = bias + sum_j W_j y[b, t + j d - p] (y [batch, T, C], weight [N, taps C])."""
        channels = y.shape[-1]
        out = y.new_empty(y.shape[0], y.shape[1], weight.shape[0])
        pad = dilation * (taps - 1) // 2
        w_strides = (channels, 1, weight.stride(0))  # tap j, input channel k, output n
        return _launch_taps_matmul(y, weight, bias, out, -pad, dilation, taps, w_strides)

    @torch.library.triton_op("audiodiff::dilated_input_grad", mutates_args={})
    def dilated_input_grad(
        grad: torch.Tensor, weight: torch.Tensor, dilation: int, taps: int
    ) -> torch.Tensor:
        """dy[b, s] = sum_j W_j^T grad[b, s + p - j d]: the gradient of y."""
        channels = weight.shape[1] // taps
        out = grad.new_empty(grad.shape[0], grad.shape[1], channels)
        pad = dilation * (taps - 1) // 2
        w_strides = (channels, weight.stride(0), 1)  # tap j, output channel n, input k
        return _launch_taps_matmul(grad, weight, None, out, pad, -dilation, taps, w_strides)

    def _setup_context(ctx, inputs, output):
        y, weight, bias, dilation, taps = inputs
        ctx.save_for_backward(y, weight)
        ctx.dilation, ctx.taps, ctx.has_bias = dilation, taps, bias is not None

    def _backward(ctx, grad):
        y, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_y = dilated_input_grad(grad, weight, ctx.dilation, ctx.taps)
        grad_w = dilated_weight_grad(grad, y, ctx.dilation, ctx.taps).to(weight.dtype)
        grad_b = None
        if ctx.has_bias:
            grad_b = grad.sum((0, 1), dtype=torch.float32).to(weight.dtype)
        return grad_y, grad_w, grad_b, None, None

    dilated_forward.register_autograd(_backward, setup_context=_setup_context)


def dilated_linear(y, weight, bias, dilation, kernel_size):
    """The dilated convolution of time-major features, by Triton kernels where they can run.

    Same contract as :func:`dilated_linear_reference` (to which it falls back, also when the
    output channels are not a multiple of 16). The weight and bias are cast to ``y``'s dtype
    (as autocast does for ``F.linear``).

    Example
    -------
    >>> y, w = torch.randn(2, 50, 16), torch.randn(32, 48)
    >>> h = dilated_linear(y, w, torch.zeros(32), dilation=4, kernel_size=3)
    >>> torch.allclose(h, dilated_linear_reference(y, w, None, 4, 3), atol=1e-5)
    True
    """
    channels = y.shape[-1]
    if weight.shape[1] != kernel_size * channels:
        raise ValueError(f"weight {tuple(weight.shape)} is not [N, {kernel_size} x {channels}]")
    if not triton_usable(y, channels) or weight.shape[0] % 16 != 0:
        return dilated_linear_reference(y, weight, bias, dilation, kernel_size)
    weight = weight.to(y.dtype).contiguous()
    bias = bias.to(y.dtype) if bias is not None else None
    return dilated_forward(y.contiguous(), weight, bias, dilation, kernel_size)
