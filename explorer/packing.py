"""The packed layout of batched parameters: run r's slices of all tensors are one contiguous row r of a
single (R, W) buffer, padded to whole 64-byte units, so a block of consecutive runs is one tensor for the
fused optimizer kernels, and gradients written in the same layout need no copy."""
from __future__ import annotations

from typing import Sequence

import torch

ROW_BYTES = 64   # a packed row is padded to a whole number of cache lines, the fused kernels' work unit


def pack(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The same values as views of one run-major buffer (R, W): run r's slices of all the tensors are
    adjacent, so run r is the contiguous row r, zero-padded to a multiple of ROW_BYTES (the padding has
    zero gradients, so no update moves it). The views keep their shapes and can be autograd leaves."""
    r = tensors[0].shape[0]
    sizes = [t[0].numel() for t in tensors]
    flat = torch.zeros(r, padded(sum(sizes), tensors[0].element_size()), dtype=tensors[0].dtype,
                       device=tensors[0].device)
    out, offset = [], 0
    for t, n in zip(tensors, sizes):
        out.append(flat[:, offset:offset + n].view(t.shape).copy_(t.detach()))
        offset += n
    return out


def run_rows(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
    """Each run's row of the buffer that `pack` made (views, padding included), or None if the tensors
    are not packed. One contiguous (R, …) tensor counts as packed, its rows unpadded."""
    m = packed_matrix(tensors)
    return None if m is None else list(m.unbind(0))


def packed_matrix(tensors: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """The (R, W) buffer whose rows hold the tensors run by run (see pack), or None."""
    first = tensors[0].detach()
    runs = first.shape[0]
    if len(tensors) == 1 and first.is_contiguous():
        return first.view(runs, -1)
    n = sum(t.numel() // max(1, runs) for t in tensors)
    offset, stride = first.storage_offset(), first.stride(0) if runs > 1 else n
    for t in tensors:
        if (t.untyped_storage().data_ptr() != first.untyped_storage().data_ptr() or t.shape[0] != runs
                or (runs > 1 and t.stride(0) != stride) or t.storage_offset() != offset
                or not t[0].is_contiguous()):
            return None
        offset += t[0].numel()
    width = n
    base = tensors[0]._base
    full = padded(n, first.element_size())
    if (base is not None and base.dim() == 2 and base.shape == (runs, full) and base.is_contiguous()
            and base.storage_offset() == first.storage_offset()):
        width = full                        # pack's buffer: its padding belongs to the rows
    elif runs > 1 and stride != n:
        return None
    return torch.as_strided(first, (runs, width), (width, 1), first.storage_offset())


def zeros_like_packed(matrix: torch.Tensor, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Zeros with the same packed layout as tensors (views of a fresh buffer shaped like matrix)."""
    buf = torch.zeros_like(matrix, memory_format=torch.contiguous_format)
    shift = buf.storage_offset() - matrix.storage_offset()
    return [buf.as_strided(t.shape, t.stride(), t.storage_offset() + shift) for t in tensors]


def padded(n: int, element_size: int) -> int:
    unit = max(1, ROW_BYTES // element_size)
    return -(-n // unit) * unit


def aligned(matrix: torch.Tensor) -> bool:
    """Rows a whole number of ROW_BYTES long: every element takes the kernels' vector body."""
    return matrix.shape[1] * matrix.element_size() % ROW_BYTES == 0
