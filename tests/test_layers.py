"""The code's layers: explorer/core < runs < analysis < viz < interface < ui, imports only pointing down the list,
no cycle between modules, module and function sizes within the house rules. Read from the source (ast), so a lazy
import inside a function counts too."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPLORER = ROOT / "explorer"
LAYERS = ["core", "runs", "analysis", "viz", "interface", "ui"]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every explorer module this file imports (absolute or relative; `from pkg import mod` names the module)."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    known = {module_name(p) for p in EXPLORER.rglob("*.py")}
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("explorer")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("explorer"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in known else mod)
    return out


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


SOURCES = sorted(EXPLORER.rglob("*.py"))
GRAPH = {module_name(p): imported_modules(p) for p in SOURCES}


def test_every_module_lives_in_a_layer():
    loose = [m for m in GRAPH if layer_of(m) is None and m not in ("explorer", "explorer.__main__")]
    assert not loose, f"modules outside the layer folders: {loose}"


def test_imports_point_down_the_layers():
    upward = [(m, d) for m, deps in GRAPH.items() for d in deps
              if layer_of(m) is not None and layer_of(d) is not None and layer_of(d) > layer_of(m)]
    assert not upward, "imports that point up the layers: " + ", ".join(f"{m} → {d}" for m, d in upward)


def test_core_needs_torch_only():
    """core/ imports no pandas, Altair, Streamlit: the numerics stand alone."""
    heavy = {"streamlit", "altair", "pandas", "vl_convert"}
    found = []
    for p in (EXPLORER / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [(p.name, n) for n in names if n.split(".")[0] in heavy]
    assert not found, found


def test_no_import_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in GRAPH.get(m, ()):
            if d == m or d not in GRAPH or (d == "explorer" and m.startswith("explorer.")):
                continue
            if state.get(d) == 1:
                pytest.fail("import cycle: " + " → ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in GRAPH:
        if m not in state:
            visit(m)


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path):
    """Never vacuous: an upward import and a cycle written the ways the code writes imports are both found."""
    pkg = tmp_path / "explorer"
    (pkg / "core").mkdir(parents=True)
    (pkg / "ui").mkdir()
    for f in ("__init__.py", "core/__init__.py", "ui/__init__.py"):
        (pkg / f).write_text("")
    (pkg / "core" / "a.py").write_text("from explorer.ui import b\n")
    (pkg / "ui" / "b.py").write_text("def f():\n    from ..core.a import x\n")
    global ROOT, EXPLORER
    saved = ROOT, EXPLORER
    ROOT, EXPLORER = tmp_path, pkg
    try:
        a, b = imported_modules(pkg / "core" / "a.py"), imported_modules(pkg / "ui" / "b.py")
    finally:
        ROOT, EXPLORER = saved
    assert a == {"explorer.ui.b"} and b == {"explorer.core.a"}
    assert layer_of("explorer.ui.b") > layer_of("explorer.core.a")


def test_modules_and_functions_within_their_size():
    """No module over 400 lines; no function over 60 lines unless its first body line is a comment that says why
    (`# long: …`)."""
    big = [f"{p.relative_to(ROOT)} ({n})" for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    long_ = []
    for p in SOURCES:
        lines = p.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                body_start = node.body[0].lineno - 1
                reason = any("# long:" in line for line in lines[node.lineno - 1: body_start + 2])
                if n > MAX_FUNCTION_LINES and not reason:
                    long_.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"
    assert not long_, f"functions over {MAX_FUNCTION_LINES} lines without a reason: {long_}"
