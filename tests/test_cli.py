import io
import subprocess
import sys

import pandas as pd
import pytest
from conftest import run_cli

from explorer.interface.cli import main


def test_python_dash_m_explorer_runs_as_a_program():
    """The subprocess smoke test (every command is tested in-process; test_export runs `export` as a program
    too): the module entry point, its exit codes and its streams, one run that fails and one that computes."""
    p = subprocess.run([sys.executable, "-m", "explorer", "trajectory", "--lr", "abc"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and "--lr: expected a number" in p.stderr and "Traceback" not in p.stderr
    tiny = ["--steps", "2", "--train-samples", "20", "--out", "-"]
    for command in (["sweep", "--lrs", "0.01", "--wds", "0.1,1", "--seeds", "1"],):
        p = subprocess.run([sys.executable, "-m", "explorer", *command, *tiny], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0 and p.stdout.startswith("optimizer,") and "Traceback" not in p.stderr, p.stderr


def test_trajectory_csv_to_stdout(capsys):
    assert main(["trajectory", "--surface", "rosenbrock", "--optimizer", "adam-l2", "--lr", "0.01",
                 "--wd", "0.1", "--steps", "20", "--start", "-1.5,2", "--out", "-"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(df.columns) == ["step", "x", "y", "loss"]
    assert df.step.tolist() == list(range(21))
    assert (df.x[0], df.y[0]) == (-1.5, 2.0)
    assert df.loss[0] == pytest.approx(2.5 ** 2 + 100 * 0.25 ** 2)


def test_same_arguments_same_file(tmp_path):
    args = ["trajectory", "--noise", "0.5", "--seed", "7", "--steps", "100", "--schedule", "warm_restarts",
            "--t0", "20"]
    main(args + ["--out", str(tmp_path / "a.csv")])
    main(args + ["--out", str(tmp_path / "b.csv")])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_every_optimizer_and_surface_runs(tmp_path):
    from explorer.core.forms import OPTIMIZERS
    from explorer.core.surfaces import SURFACES
    for s in SURFACES:
        for o in OPTIMIZERS:
            assert main(["trajectory", "--surface", s, "--optimizer", o, "--lr", "1e-3", "--steps", "5",
                         "--out", str(tmp_path / "t.csv")]) == 0


@pytest.mark.parametrize("args,needle", [
    (["--surface", "nope"], "--surface"),
    (["--lr", "-0.1"], "--lr: must be > 0"),
    (["--lr", "abc"], "--lr: expected a number"),
    (["--beta2", "1"], "--beta2: must be < 1"),
    (["--beta2", "1.5"], "--beta2"),
    (["--start", "1"], "--start: expected X,Y"),
    (["--start", "a,b"], "--start"),
    (["--steps", "0"], "--steps"),
    (["--wd", "nan"], "--wd: must be a finite number"),
    (["--optimizer", "lamb"], "--optimizer"),
    (["--out", "/nonexistent-dir/x.csv"], "cannot write"),
])
def test_bad_arguments_exit_2_with_one_line(args, needle):
    code, out, err = run_cli("trajectory", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_surfaces_lists_formulas_and_help_documents_defaults():
    code, out, _ = run_cli("surfaces")
    assert code == 0 and "rosenbrock" in out and "(1-x)^2+100" in out
    code, out, _ = run_cli("trajectory", "--help")
    assert code == 0 and "default 0.05" in out and "--t-mult" in out


def test_absurd_combinations_get_a_note_not_an_error():
    from explorer.interface.params import sanity_notes
    assert sanity_notes(["adam-l2", "adamw-torch"], 0.01, 0.1, 0.9, 0.999, 1e-8) == []
    notes = sanity_notes(["adam-l2", "adamw"], 0.01, 2.0, 0.99, 0.9, 0.5)
    assert any("β2 = 0.9 < β1 = 0.99" in n for n in notes)
    assert any("ε = 0.5 is large" in n for n in notes)
    assert any("AdamW (paper form)" in n and "≤ 0" in n for n in notes)
    code, out, err = run_cli("trajectory", "--beta1", "0.99", "--beta2", "0.9", "--steps", "5")
    assert code == 0 and "note: β2" in err and out.startswith("step,x,y,loss")


def test_export_help_for_a_view_lists_that_views_options():
    """`export --view train --help` printed export's generic help, whose text points to this very command: the
    view's options could not be read anywhere."""
    for view, option in (("train", "--width"), ("sweep", "--preset"), ("trajectory", "--frames")):
        code, out, err = run_cli("export", "--view", view, "--help")
        assert code == 0 and f"export --view {view}" in out and option in out, (view, out[:300], err)
    code, out, _ = run_cli("export", "--help")          # without a view: export's own help
    assert code == 0 and "--format" in out
