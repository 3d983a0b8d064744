"""The packed layout of batched parameters: each tensor (R, …) is a view of its own (R, W) buffer whose
row r holds run r's values, padded to whole 64-byte units. A block of consecutive runs is then one
tensor per parameter for the fused optimizer kernels, every element in the kernels' vector body (so
grouping runs changes no bit), and a batched matmul can write a gradient into such a buffer directly
(its batches are contiguous, as torch's CPU bmm needs for one batched MKL call)."""
from __future__ import annotations

from typing import Sequence

import torch

ROW_BYTES = 64   # a packed row is padded to a whole number of cache lines, the fused kernels' work unit


def pack(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The same values as views of one (R, W) buffer per tensor: run r's slice is the contiguous row r,
    zero-padded to a multiple of ROW_BYTES (the padding has zero gradients, so no update moves it). The
    views keep their shapes and can be autograd leaves."""
    out = []
    for t in tensors:
        n = t[0].numel()
        flat = torch.zeros(t.shape[0], padded(n, t.element_size()), dtype=t.dtype, device=t.device)
        out.append(flat[:, :n].view(t.shape).copy_(t.detach()))
    return out


def row_matrices(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
    """Each tensor as the (R, W) matrix of its runs' rows, padding included where `pack` made it (views
    of the same memory), or None when some tensor's runs are not rows of one buffer."""
    out = []
    for t in tensors:
        m = _row_matrix(t)
        if m is None:
            return None
        out.append(m)
    return out


def _row_matrix(t: torch.Tensor) -> torch.Tensor | None:
    d = t.detach()
    runs, n = d.shape[0], d[0].numel() if d.shape[0] else 0
    if runs == 0 or not d[0].is_contiguous():
        return None
    full, base = padded(n, d.element_size()), t._base
    if (base is not None and base.dim() == 2 and base.shape == (runs, full) and base.is_contiguous()
            and base.storage_offset() == d.storage_offset()
            and (runs == 1 or d.stride(0) == full)):
        return torch.as_strided(d, (runs, full), (full, 1), d.storage_offset())   # pack's buffer
    if d.is_contiguous():
        return d.view(runs, n)
    return None


def zeros_like_rows(matrices: Sequence[torch.Tensor], tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Zeros laid out as tensors are in their row matrices (views of fresh buffers shaped like them)."""
    out = []
    for m, t in zip(matrices, tensors):
        buf = torch.zeros_like(m, memory_format=torch.contiguous_format)
        out.append(buf.as_strided(t.shape, t.stride(), t.storage_offset() - m.storage_offset()))
    return out


def padded(n: int, element_size: int) -> int:
    unit = max(1, ROW_BYTES // element_size)
    return -(-n // unit) * unit


def aligned(matrices: Sequence[torch.Tensor]) -> bool:
    """Rows a whole number of ROW_BYTES long: every element takes the kernels' vector body."""
    return all(m.shape[1] * m.element_size() % ROW_BYTES == 0 for m in matrices)
