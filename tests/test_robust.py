"""Slopes with their spread over variants: the interval on synthetic grids, and verdicts that need all of it."""
import itertools
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from explorer.analysis.robust import (
    FAILS,
    HOLDS,
    MIXED,
    Spread,
    coupling_verdict,
    gap_spread,
    matches,
    regime_verdict,
    robust_lines,
    robust_slopes,
    side,
    spread,
    transfer_verdict,
    within,
)
from explorer.runs.sweep import pow2

LRS, WDS = pow2(-12, -6), pow2(-14, 2)
INTERCEPT = {-1.0: -14, 0.0: -6, 1.0: 6, 2.0: 14}      # every row's best λ inside the grid, on a grid value


def grid(slope, optimizer="adam-l2", intercept=-3.0, variant="v", row="lr", seeds=2):
    """A synthetic sweep whose best λ moves with the row as 2^(slope·log2 row + intercept)."""
    rows = []
    for x, wd, s in itertools.product(LRS, WDS, range(seeds)):
        target = slope * math.log2(x) + intercept
        rows.append({"variant": variant, "optimizer": optimizer, row: x, "wd": wd, "seed": s,
                     "test_loss": 1.0 + 0.1 * (math.log2(wd) - target) ** 2, "diverged": False})
    return pd.DataFrame(rows)


def test_spread_is_median_and_range_of_each_variants_slope_on_synthetic_grids():
    slopes = {"a": -1.0, "b": 0.0, "c": 1.0, "d": 2.0, "e": 0.0}
    frame = pd.concat([grid(s, variant=v, intercept=INTERCEPT[s]) for v, s in slopes.items()]
                      + [grid(1.0, "adamw-torch", variant=v, intercept=6) for v in slopes], ignore_index=True)
    got = robust_slopes(frame, ["adam-l2", "adamw-torch"])
    s = got["adam-l2"]
    assert s.values == pytest.approx(slopes, abs=1e-9)
    assert (s.median, s.lo, s.hi, s.k) == pytest.approx((0.0, -1.0, 2.0, 5), abs=1e-9)
    assert got["adamw-torch"].lo == pytest.approx(1.0) and got["adamw-torch"].hi == pytest.approx(1.0)
    assert robust_lines(got)[0] == "robust slope adam-l2: +0.00 [-1.00, +2.00] over 5 variants"
    # along another row axis, the same measure on that column
    along = pd.concat([grid(s, variant=v, row="batch_size", intercept=INTERCEPT[s])
                       for v, s in {"x": 1.0, "y": 0.0}.items()])
    sp = robust_slopes(along, ["adam-l2"], row="batch_size")["adam-l2"]
    assert (sp.median, sp.lo, sp.hi) == pytest.approx((0.5, 0.0, 1.0), abs=1e-9)


def test_a_variant_without_a_slope_is_counted_apart_and_no_variant_column_is_one_variant():
    flat = grid(0.0).assign(variant="flat", test_loss=1.0)
    frame = pd.concat([grid(0.0, variant="ok"), flat])
    s = robust_slopes(frame, ["adam-l2"])["adam-l2"]
    assert s.k == 1 and math.isnan(s.values["flat"]) and s.text().endswith("over 1 variant (1 without a slope)")
    assert robust_slopes(grid(1.0, intercept=2).drop(columns="variant"), ["adam-l2"])["adam-l2"].k == 1
    assert spread({"a": math.nan}).text().startswith("n/a")


def interval(lo, hi):
    return spread({"lo": lo, "mid": (lo + hi) / 2, "hi": hi})


@pytest.mark.parametrize("lo,hi,want", [(0.5, 0.8, HOLDS), (0.51, 0.9, HOLDS), (0.49, 0.9, MIXED),
                                        (0.1, 0.49, FAILS), (0.1, 0.5, MIXED)])
def test_the_coupling_verdict_flips_as_the_interval_crosses_the_threshold(lo, hi, want):
    gap = interval(lo, hi)
    assert side(gap, 0.5) == want
    text = coupling_verdict(gap, "adam-l2", "adamw-torch", 0.5)
    assert ("the evidence is mixed" in text) == (want == MIXED)
    assert ("visible in every variant" in text) == (want == HOLDS)


@pytest.mark.parametrize("lo,hi,want", [(-0.2, 0.3, HOLDS), (-0.5, 0.5, HOLDS), (-0.51, 0.3, MIXED),
                                        (0.3, 0.6, MIXED), (0.51, 1.0, FAILS), (-2.0, -0.6, FAILS)])
def test_a_match_needs_the_whole_interval_within_the_tolerance(lo, hi, want):
    assert within(interval(lo, hi), 0.0) == want


def test_the_regime_verdict_is_said_only_when_every_interval_supports_it():
    fixed = {"adamw-torch": interval(-0.2, 0.1), "adamw": interval(0.7, 1.2)}
    assert matches(fixed, {"adamw-torch": 0.0, "adamw": 1.0}) == HOLDS
    assert "support the *fixed point* prediction" in regime_verdict(fixed)
    crossing = {"adamw-torch": interval(-0.7, 0.1), "adamw": interval(0.7, 1.2)}
    text = regime_verdict(crossing)
    assert "the evidence is mixed" in text and "fixed point" in text and "reaches outside +0 ± 0.5" in text
    transient = {"adamw-torch": interval(-1.0, -0.9), "adamw": interval(0.0, 0.2)}
    assert "*transient* and *rotational*" in regime_verdict(transient)
    assert "support the *transient* prediction" in regime_verdict(transient, scale_invariant=False)
    assert "no prediction holds" in regime_verdict({"adamw-torch": interval(2, 3), "adamw": interval(2, 3)})


@pytest.mark.parametrize("hi,word", [(-0.6, "**matches** in every variant"), (-0.4, "**the evidence is mixed**")])
def test_the_transfer_verdict_flips_when_an_interval_reaches_past_the_rule(hi, word):
    # along the training-set size "τ in epochs" predicts −1 for both AdamW forms
    spreads = {"adamw": interval(-1.2, hi), "adamw-torch": interval(-1.1, -0.7), "adam-l2": interval(3, 4)}
    text = transfer_verdict("train-samples", spreads)
    assert f"*τ in epochs*: {word}" in text
    assert "*τ ∝ run*: does not match" in text or "τ ∝ run*: **the evidence is mixed**" in text


def test_the_gap_is_taken_variant_by_variant():
    frame = pd.concat([grid(1.0, variant="a", intercept=6), grid(0.0, "adamw-torch", variant="a", intercept=-6),
                       grid(0.0, variant="b", intercept=-6), grid(0.0, "adamw-torch", variant="b", intercept=-6)])
    gap = gap_spread(frame, "adam-l2", "adamw-torch")
    assert gap.values == pytest.approx({"a": 1.0, "b": 0.0}, abs=1e-9)
    assert side(gap, 0.5) == MIXED
    assert isinstance(gap, Spread) and np.isfinite(gap.median)


TINY = ("--lrs", "0.004,0.03", "--wds", "0.01,0.1,1", "--steps", "20", "--train-samples", "100", "--seeds", "1",
        "--robustness", "--variants", "s0-epochs-engine,s10-replacement-linear")
LINE = re.compile(r"^robust slope (\S+): (n/a|[+-]\d\.\d\d \[[+-]\d\.\d\d, [+-]\d\.\d\d\] over \d+ variants)")


def test_sweep_robustness_prints_a_robust_line_per_form_after_the_usual_output(tmp_path):
    out = tmp_path / "s.csv"
    code, stdout, _ = run_cli("sweep", *TINY, "--out", str(out))
    assert code == 0
    lines = stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines[:3]] == [f"coupling slope {n}" for n in ("adam-l2", "adamw",
                                                                                      "adamw-torch")]
    robust = [m.group(1) for ln in lines if (m := LINE.match(ln))]
    assert robust == ["adam-l2", "adamw", "adamw-torch"] and "over 2 variants" in stdout
    assert any(ln.startswith("robust verdict: ") for ln in lines) and "*" not in stdout
    frame = pd.read_csv(out)
    assert list(frame.columns[:2]) == ["variant", "optimizer"]
    assert sorted(frame["variant"].unique()) == ["s0-epochs-engine", "s10-replacement-linear"]
    assert set(frame[frame["variant"] == "s10-replacement-linear"]["seed"]) == {10}
    again = tmp_path / "again.csv"
    assert run_cli("sweep", *TINY, "--out", str(again))[1] == stdout and again.read_bytes() == out.read_bytes()


def test_axis_sweep_robustness_prints_the_same_lines():
    code, stdout, _ = run_cli("sweep", *TINY, "--axis", "batch-size", "--values", "16,32", "--lrs", "0.01")
    assert code == 0
    assert [m.group(1) for ln in stdout.splitlines() if (m := LINE.match(ln))] == ["adam-l2", "adamw", "adamw-torch"]
    assert "transfer slope adamw along batch_size" in stdout and "robust verdict: Over the variants. τ" in stdout


@pytest.mark.parametrize("args,needle", [
    (("--variants", "s0-epochs-engine"), "argument --variants: only with --robustness"),
    (("--robustness", "--variants", "s0-epochs-engine,s7"), "argument --variants: unknown variant(s) s7"),
    (("--robustness", "--variants", ","), "argument --variants: no variant given"),
    (("--robustness", "--model", "m.py:build", "--data", "d.csv", "--target", "y"), "argument --robustness: not for "),
])
def test_bad_robustness_arguments_exit_2_with_one_line(args, needle):
    code, stdout, stderr = run_cli("sweep", "--steps", "5", *args)
    assert code == 2 and stdout == "" and needle in stderr and len(stderr.strip().splitlines()) == 1, stderr
    code, _, stderr = run_cli("map", "--steps", "5", *args[:3]) if args[0] == "--variants" else (2, "", needle)
    assert code == 2 and needle.split(":")[0] in stderr


def test_map_robustness_adds_each_points_interval(tmp_path):
    out = tmp_path / "m.csv"
    args = ["--lrs", "0.004,0.03,0.1", "--wds", "0.01,0.1,1", "--steps", "20", "--train-samples", "100", "--seeds",
            "2", "--robustness", "--variants", "s0-epochs-engine,s10-replacement-linear", "--axis", "init-scale",
            "--values", "1,4"]
    code, _, stderr = run_cli("map", *args, "--out", str(out))
    assert code == 0, stderr
    table = pd.read_csv(out)
    assert list(table.columns[-4:]) == ["robust_median", "robust_lo", "robust_hi", "robust_k"]
    assert (table["robust_k"] <= 2).all() and "robust slope" in stderr
    ok = table[table["robust_k"] > 0]
    assert len(ok) and (ok["robust_lo"] <= ok["robust_median"]).all() and (ok["robust_median"] <= ok["robust_hi"]).all()


def test_the_charts_draw_each_interval():
    from explorer.viz.equilibrium_charts import map_chart
    from explorer.viz.robust_chart import robust_chart, spread_table
    spreads = {"adam-l2": interval(0.3, 0.8), "adamw-torch": interval(-0.2, 0.0)}
    table = spread_table(spreads)
    assert list(table.columns[:6]) == ["optimizer", "axis", "median", "lo", "hi", "k"]
    assert table["lo"].tolist() == pytest.approx([0.3, -0.2]) and table["k"].tolist() == [3, 3]
    spec = robust_chart(spreads, {"slope 0": 0.0}).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "rule", "tick", "point"]
    points = pd.DataFrame({"axis_value": [1.0, 2.0], "optimizer": ["adamw", "adamw"], "slope": [0.1, 0.2],
                           "seed_min": [0.0, 0.1], "seed_max": [0.2, 0.3], "seed_slopes": ["", ""],
                           "counted_rows": [3, 3], "edge_rows": [0, 0], "flat_rows": [0, 0], "n_median": [1.0, 2.0],
                           "robust_median": [0.1, 0.2], "robust_lo": [-0.9, 0.0], "robust_hi": [0.5, 0.4],
                           "robust_k": [12, 12]})
    spec = map_chart(points, "initial scale").to_dict()
    assert "robust_lo" in json.dumps(spec) and len(spec["layer"]) == 6
