"""The app headless (Streamlit AppTest): it renders, every control moves, nothing raises."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 60
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def fresh(query=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def specs(at):
    return [json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart")] or \
           [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_opens_with_both_panels_and_no_exception():
    at = fresh()
    assert not at.exception
    assert len(specs(at)) == 4  # two trajectory panels, loss, norm
    titles = json.dumps(specs(at)[:2])
    assert "Adam + L2" in titles and "AdamW" in titles


def test_every_slider_moves_without_exception():
    at = fresh()
    moved = set()
    for pair in ("adam", "sgd"):
        at.radio(key="pair").set_value(pair).run()
        for i in range(len(at.slider)):
            s = at.slider[i]
            if s.disabled:
                continue
            lo, hi = s.min, s.max
            s.set_value(lo + (hi - lo) * 0.7 if isinstance(lo, float) else int(lo + (hi - lo) * 0.7)).run()
            assert not at.exception, s.label
            moved.add(s.key)
        for i in range(len(at.select_slider)):
            s = at.select_slider[i]
            if s.disabled:
                continue
            s.set_value(s.options[-2]).run()
            assert not at.exception, s.label
            moved.add(s.key)
    assert moved >= {"lr", "wd", "beta1", "beta2", "eps", "momentum", "steps", "x0", "y0", "noise"}
    at.radio(key="pair").set_value("adam").run()
    at.radio(key="form").set_value("paper").run()
    assert not at.exception
    assert any("λ_torch = λ/α" in i.value for i in at.info)


@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau", "rastrigin", "quadratic"])
@pytest.mark.parametrize("schedule", ["cosine", "warm_restarts"])
def test_each_surface_and_schedule(surface, schedule):
    at = fresh()
    at.selectbox(key="surface").set_value(surface).run()
    at.selectbox(key="schedule").set_value(schedule).run()
    assert not at.exception
    assert len(specs(at)) == 4


def test_divergence_is_a_message_not_a_traceback():
    at = fresh()
    at.selectbox(key="surface").set_value("rosenbrock").run()
    at.radio(key="pair").set_value("sgd").run()
    at.select_slider(key="lr").set_value(1.0).run()
    assert not at.exception
    assert any("diverged at step" in e.value for e in at.error)


def test_live_training_starts_advances_and_stops():
    at = fresh()
    assert not at.exception
    at.button(key="t_start").click().run()
    assert not at.exception
    assert at.session_state["training"]
    first = at.session_state["trainer"].step_count
    assert first > 0                             # the fragment ran once with the page
    at.run()                                     # one more fragment tick
    assert at.session_state["trainer"].step_count > first
    assert any("step" in p.proto.text for p in at.get("progress"))
    assert len(specs(at)) >= 4 + 6
    at.button(key="t_stop").click().run()
    assert not at.exception and not at.session_state["training"]
    stopped = at.session_state["trainer"].step_count
    at.run()
    assert at.session_state["trainer"].step_count == stopped


def test_live_training_sgd_pair_and_diverging_run_show_messages():
    at = fresh()
    at.radio(key="t_pair").set_value("sgd").run()
    at.select_slider(key="t_lr").set_value(0.5).run()
    at.select_slider(key="t_steps").set_value(100).run()
    at.button(key="t_start").click().run()
    for _ in range(5):
        at.run()
    assert not at.exception
    assert at.session_state["trainer"].names == ["sgd-l2", "sgdw"]


def test_sweep_tab_runs_a_small_grid_and_draws_heatmaps():
    at = fresh()
    at.slider(key="s_n_lr").set_value(2).run()
    at.slider(key="s_n_wd").set_value(3).run()
    at.slider(key="s_seeds").set_value(1).run()
    at.select_slider(key="s_steps").set_value(100).run()
    at.select_slider(key="s_samples").set_value(100).run()
    assert not at.exception
    before = len(specs(at))
    at.button(key="s_run").click().run()
    assert not at.exception
    heat = [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]
    assert len(heat) == 3 and len(specs(at)) == before + 3
    assert any("Slopes" in m.value for m in at.markdown)
    # switching to the SGD preset sets its own grid; nothing raises
    at.selectbox(key="s_preset").set_value("sgd").run()
    assert not at.exception
