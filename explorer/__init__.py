"""Decoupled Weight Decay Explorer: why Adam + L2 is not weight decay, and what AdamW changes.

What a user calls from Python, re-exported here (loaded on first use, so `import explorer` stays cheap):

    from explorer import BatchedOptimizer, Schedule, TrainConfig, Trainer, SweepConfig, run_sweep, coupling, audit
    from explorer import sweep_model, read_table     # your own model and data
    from explorer import VARIANTS, run_variants, robust_slopes   # how sure a slope is: over the variants

The layers below (explorer.core < runs < analysis < viz < interface < ui) hold the rest.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "FORMS": "explorer.core.forms", "DecayForm": "explorer.core.forms", "OPTIMIZERS": "explorer.core.forms",
    "register": "explorer.core.forms",
    "BatchedOptimizer": "explorer.core.optim",
    "Schedule": "explorer.core.schedules", "SCHEDULES": "explorer.core.schedules",
    "TrainConfig": "explorer.runs.train", "Trainer": "explorer.runs.train",
    "SweepConfig": "explorer.runs.sweep", "run_sweep": "explorer.runs.sweep", "PRESETS": "explorer.runs.sweep",
    "sweep_model": "explorer.runs.model_sweep", "read_table": "explorer.core.tables",
    "coupling": "explorer.analysis.interpret", "interpret": "explorer.analysis.interpret",
    "convert": "explorer.analysis.convert", "snippet": "explorer.analysis.snippets",
    "audit": "explorer.analysis.audit", "Audit": "explorer.analysis.audit",
    "VARIANTS": "explorer.runs.variants", "run_variants": "explorer.runs.variants",
    "robust_slopes": "explorer.analysis.robust", "robust_summary": "explorer.analysis.robust",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
