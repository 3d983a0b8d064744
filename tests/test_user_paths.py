"""Paths a user walks between features (AppTest): links with range sliders, the address bar across tabs,
controls moved while a run trains. The browser tests walk the same paths in Chromium."""
import json
import time

import pytest
from conftest import finished_live_run, fresh, live_until, show, specs

SWEEP = "lr × λ sweep"


@pytest.mark.parametrize("value", ["-11,-6", ["-11", "-6"]])
def test_a_sweep_link_with_a_range_slider_opens_and_restores_it(value):
    at = fresh({"s_preset": "large-init", "s_lr_range": value}, view="sweep")
    assert not at.exception and not at.warning
    assert at.slider(key="s_lr_range").value == (-11, -6)
    assert at.slider(key="s_wd_adamw").value == (-10, -4)          # the preset's, untouched
    assert at.query_params["s_lr_range"] == "-11,-6" and at.query_params["view"] == SWEEP
    at.slider(key="s_wd_adamw").set_value((-9, -5)).run()
    assert not at.exception and at.query_params["s_wd_adamw"] == "-9,-5"


@pytest.mark.parametrize("value", ["5", "-6,-11", "a,b", "-20,-3", "-11,-6,-3", ""])
def test_a_bad_range_value_warns_and_uses_the_preset(value):
    at = fresh({"s_preset": "large-init", "s_lr_range": value}, view="sweep")
    assert not at.exception
    assert "s_lr_range" in " ".join(w.value for w in at.warning)
    assert at.slider(key="s_lr_range").value == (-12, -6)           # large-init's own range
    assert "s_lr_range" not in at.query_params


def test_the_share_link_of_a_moved_range_reopens_the_same_grid():
    at = fresh(view="sweep")
    at.selectbox(key="s_preset").set_value("large-init").run()
    at.slider(key="s_lr_range").set_value((-11, -6)).run()
    link = dict(at.query_params)
    assert link["s_lr_range"] == "-11,-6" and link["s_preset"] == "large-init"
    again = fresh(link)
    assert not again.exception and not again.warning
    assert again.slider(key="s_lr_range").value == (-11, -6)
    assert again.select_slider(key="s_init_scale").value == 8.0


def test_the_address_bar_keeps_every_tabs_changed_controls():
    at = fresh()
    at.select_slider(key="lr").set_value(0.01).run()
    at.selectbox(key="surface").set_value("himmelblau").run()
    show(at, "train")
    at.select_slider(key="t_wd").set_value(0.1).run()
    bar = dict(at.query_params)
    assert bar == {"view": "Live training", "lr": "0.01", "surface": "himmelblau", "t_wd": "0.1"}
    # the address bar, opened fresh, is the whole state: this tab and the one before
    again = fresh(bar)
    assert not again.warning and again.select_slider(key="t_wd").value == 0.1
    show(again, "traj")
    assert again.select_slider(key="lr").value == 0.01 and again.selectbox(key="surface").value == "himmelblau"
    assert dict(again.query_params) == {k: v for k, v in bar.items() if k != "view"}


def test_a_links_values_for_an_unopened_tab_stay_in_the_address_bar():
    at = fresh({"t_wd": "0.1", "s_preset": "sgd", "lr": "0.01"})
    assert not at.warning
    assert dict(at.query_params) == {"t_wd": "0.1", "s_preset": "sgd", "lr": "0.01"}
    at.select_slider(key="wd").set_value(0.1).run()
    assert at.query_params["t_wd"] == "0.1" and at.query_params["wd"] == "0.1"


def test_unknown_and_hostile_parameters_leave_the_address_bar():
    at = fresh({"zzz": "1", "lr": "<script>", "t_nothing": "1"})
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "zzz" in text and "lr" in text
    assert "zzz" not in at.query_params and "lr" not in at.query_params
    assert at.query_params["t_nothing"] == "1"          # another tab's name: checked when that tab opens
    show(at, "train")
    assert "t_nothing" in " ".join(w.value for w in at.warning) and "t_nothing" not in at.query_params


def test_a_thousand_unknown_parameters_give_one_short_warning():
    """A link with 1,000 junk names: one line naming the first ten and the count (it was a 36,888-character
    warning), the page drawn, the address bar clean."""
    at = fresh({f"junk{i}": "1" for i in range(1000)})
    assert not at.exception and len(at.warning) == 1
    text = at.warning[0].value
    assert len(text) < 400 and "junk0" in text and "junk9" in text and "junk10," not in text and "1,000 in all" in text
    assert not any(k.startswith("junk") for k in at.query_params)


def test_after_a_finished_run_a_moved_control_gets_a_whole_sentence():
    """A finished run cannot resume: the note says what Start does and ends there (it ended on "; ")."""
    at = finished_live_run()
    at.select_slider(key="t_wd").set_value(0.1).run()
    notes = [i.value for i in at.info if "keeps its own settings" in i.value]
    assert notes and notes[0].endswith("▶ Start trains with the settings above."), notes


def test_a_parameter_no_control_of_the_shown_tab_claims_is_reported():
    at = fresh({"optimizer": "adamw", "start": "1,1", "lr": "0.01"})     # CLI-only names in a link
    text = " ".join(w.value for w in at.warning)
    assert "optimizer" in text and "start" in text
    assert dict(at.query_params) == {"lr": "0.01"}


def start_long_run(at):
    at.select_slider(key="t_steps").set_value(10000).run()
    at.select_slider(key="t_width").set_value(512).run()
    at.button(key="t_start").click().run()
    assert not at.exception and at.session_state["live"].running
    return at


def test_moving_a_control_during_a_run_pauses_it_and_says_why():
    at = start_long_run(fresh(view="train"))
    live = at.session_state["live"]
    at.select_slider(key="t_wd").set_value(0.1).run()
    assert not at.exception
    assert not live.running and "Decay λ" in live.paused_because
    assert any("Paused at step" in i.value and "Decay λ" in i.value for i in at.info)
    paused_at = live.step
    time.sleep(1.5)                                                # the second in flight ends and is dropped
    at.run()
    assert live.step == paused_at                                  # paused runs do not step
    assert live.cfg.wd == 0.05                                     # the run keeps its own settings
    at.button(key="t_resume").click().run()                        # continue it…
    assert not at.exception
    live_until(at, lambda run: run.step > paused_at)
    at.button(key="t_start").click().run()                         # …or start over with the new λ
    assert at.session_state["live"] is not live and at.session_state["live"].cfg.wd == 0.1
    live_until(at, lambda run: run.step > 0)
    assert len(specs(at)) >= 6


def export_menus(at):
    """One per chart: the PNG button of each export menu."""
    return [b for b in at.get("download_button") if b.proto.label == "PNG"]


def test_every_insight_chart_has_an_export_menu():
    at = fresh(view="insights")
    assert not at.exception
    n_charts = len(specs(at))
    assert n_charts >= 9 and len(export_menus(at)) == n_charts


def test_a_link_alone_starts_no_heavy_insight_computation():
    link = {"i1_model": "true", "i3_model": "true", "i5_go": "true", "i5_n": "81", "i5_kind": "random"}
    at = fresh(link, view="insights")
    assert not at.exception and not at.warning
    titles = json.dumps([s.get("title", "") for s in specs(at)])
    assert "Loss landscape" not in titles and "on the MLP" not in titles
    assert at.toggle(key="i5_go").value and at.query_params["i5_n"] == "81"   # the link is kept
    confirm = [b for b in at.button if b.key == "i5_go_confirm"]
    assert confirm and "81×81" in confirm[0].label
    at.select_slider(key="i5_n").set_value(21).run()                 # a cheaper grid, then the click
    at.select_slider(key="i5_steps").set_value(300).run()
    at.button(key="i5_go_confirm").click().run()
    assert not at.exception
    assert "Loss landscape" in json.dumps([s.get("title", "") for s in specs(at)])


def test_a_long_sweep_shows_its_estimate_and_asks_before_it_starts():
    link = {"s_preset": "long-runs", "s_seeds": "4", "s_steps": "6000", "s_n_lr": "9", "s_n_wd": "9"}
    at = fresh(link, view="sweep")
    assert not at.exception and not at.warning
    caption = " ".join(c.value for c in at.caption)
    assert "243 cells × 4 seed(s) × 6,000 steps" in caption and "about" in caption
    at.button(key="s_run").click().run()
    assert not at.exception
    asked = " ".join(w.value for w in at.warning)
    assert "This sweep takes about" in asked and "min" in asked
    assert [b for b in at.button if b.key == "s_confirm"]
    assert not [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]   # nothing ran


def test_every_plain_slider_and_number_box_takes_its_bounds_and_default_from_its_spec():
    """One definition per control (explorer/params.py): what the widget allows is what its URL and CLI allow."""
    from explorer.ui import urlstate
    checked = 0
    for view in ("traj", "train", "sweep", "insights"):
        at = fresh(view=view)
        specs = at.session_state[urlstate._SPECS]      # every control drawn, by key: the Spec it was drawn from
        for w in list(at.slider) + list(at.number_input):
            spec = specs[w.key]                         # (the start sliders' Specs carry the surface's bounds)
            assert (w.min, w.max) == (spec.lo, spec.hi), w.key
            if spec.default is not None:
                assert w.value == spec.default, w.key
            checked += 1
        for w in at.select_slider:
            spec = specs[w.key]
            assert [float(o) for o in w.options] == [float(o) for o in spec.options], w.key
            checked += 1
    assert checked >= 30


def test_the_link_accepts_exactly_what_the_cli_accepts():
    from explorer.interface.cli import main
    at = fresh({"t_depth": "6"}, view="train")                # the spec's range: 1–6
    assert not at.warning and at.slider(key="t_depth").value == 6
    assert main(["train", "--depth", "6", "--steps", "2", "--width", "8", "--out", "/dev/null"]) == 0
    at = fresh({"t_depth": "7"}, view="train")
    assert "t_depth" in " ".join(w.value for w in at.warning)
    with pytest.raises(SystemExit) as e:
        main(["train", "--depth", "7", "--steps", "2", "--out", "/dev/null"])
    assert e.value.code == 2
    at = fresh({"steps": "5000", "i2_noise": "1.0"}, view="insights")   # "1.0" and "1" name one stop
    assert not at.warning and at.select_slider(key="i2_noise").value == 1.0
