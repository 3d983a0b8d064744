"""Your own model from a file: FUNCTION() of FILE.py (FILE.py:FUNCTION), for the audit and the sweep of your model.

The file is imported as a module of its own (its folder first on sys.path, as your code would import it); every
failure — no such file, an import error, no such function, a function that raises or returns no nn.Module — is a
ValueError of one line.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def load_builder(target: str):
    """FUNCTION from FILE.py (FILE.py:FUNCTION), not yet called, wrapped to run beside its file and to turn what
    it raises, or a result that is not an nn.Module, into a ValueError of one line."""
    file, sep, name = target.rpartition(":")
    if not sep or not file or not name.isidentifier():
        raise ValueError(f"expected FILE.py:FUNCTION, got {target!r}")
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"{file}: no such file")
    module = _import(path)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ValueError(f"{file} has no function {name}")

    def build():
        from torch import nn
        try:
            with _beside(path):
                model = fn()
        except (Exception, SystemExit) as e:
            raise ValueError(f"{name}() raised {_one_line(e)}") from None
        if not isinstance(model, nn.Module):
            raise ValueError(f"{name}() returned {type(model).__name__}, not a torch.nn.Module")
        return model

    build.__name__ = build.__qualname__ = name
    return build


def load_model(target: str):
    """FUNCTION() from FILE.py (FILE.py:FUNCTION): the model it returns; ValueError in one line."""
    return load_builder(target)()


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"_explorer_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module            # dataclasses and pickling look their module up here
    try:
        with _beside(path):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        del sys.modules[spec.name]
        raise ValueError(f"{path} failed to import: {_one_line(e)}") from None
    return module


class _beside:
    """The file's folder first on sys.path while it runs, so it imports its neighbours as it would at home."""

    def __init__(self, path: Path):
        self.folder = str(path.resolve().parent)

    def __enter__(self):
        sys.path.insert(0, self.folder)

    def __exit__(self, *exc):
        if self.folder in sys.path:
            sys.path.remove(self.folder)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
