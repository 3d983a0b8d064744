"""The sweep tab's spread over variants under AppTest: a link turns it on, the estimate says ×12 before the run, the
intervals, a whisker chart with its exports and the verdicts after it; a plain run says it is one run."""
import json

from conftest import fresh, specs

SMALL = {"s_n_lr": "2", "s_n_wd": "2", "s_seeds": "1", "s_steps": "100", "s_samples": "100"}


def text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_a_link_runs_the_grid_under_every_variant_and_shows_each_slopes_interval():
    at = fresh(SMALL | {"s_robust": "true"}, view="sweep")
    assert not at.exception and not at.warning and at.toggle(key="s_robust").value
    line = next(c.value for c in at.caption if "cells ×" in c.value)
    assert "× **12 variants**" in line and "about" in line, line          # the estimate, before running
    at.button(key="s_run").click().run()
    if any(b.key == "s_confirm" for b in at.button):                      # a busy machine may estimate > 60 s
        at.button(key="s_confirm").click().run()
    assert not at.exception
    heat = [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]
    assert len(heat) == 3                                                 # the heat maps: the base variant's
    assert "**How sure.** Each slope over 12 variants" in text(at)
    assert any("How sure" in json.dumps(s.get("title", "")) for s in specs(at))
    assert "**Over the variants.**" in text(at) and "**This run**" in text(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("Download every variant's runs (CSV") for label in labels)


def test_a_plain_run_says_its_verdicts_are_one_runs():
    at = fresh(SMALL, view="sweep")
    at.button(key="s_run").click().run()
    assert not at.exception
    assert any("Spread over variants" in c.value and "12 variants" in c.value for c in at.caption)
    assert "How sure" not in text(at)


def test_the_default_preset_shows_its_shipped_intervals_at_once_and_says_where_the_evidence_is_mixed():
    at = fresh(view="sweep")
    assert not at.exception and not at.toggle(key="s_robust").value
    said = text(at)
    assert "**How sure.** Each slope over 12 variants" in said
    # measured: the L2–PyTorch-form gap is +0.61 [+0.36, +0.86], across the 0.5 the preset's claim needs
    assert "the evidence is mixed" in said and "support the *fixed point* prediction" in said
    assert "the coupling and its removal are both visible" not in said        # a one-run verdict is not repeated
