"""The app headless (Streamlit AppTest): it renders, every control moves, nothing raises."""
import json
import time

import pytest
from conftest import APP, fresh, live_until, show, specs, trajectory_data


def test_streamlit_run_loads_the_app_before_its_first_visitor():
    """`streamlit run app.py` finds app.py's st.App and imports the module (torch, the explorer) when the
    server starts; each visitor's run executes the script as __main__ (what AppTest does too)."""
    from pathlib import Path

    from streamlit.web.server.app_discovery import discover_asgi_app
    found = discover_asgi_app(Path(APP))
    assert found.is_asgi_app and found.app_name == "app"


def test_opens_with_both_panels_and_no_exception():
    at = fresh()
    assert not at.exception
    assert len(specs(at)) == 4  # two trajectory panels, loss, norm: only the active tab renders
    titles = json.dumps(specs(at)[:2])
    assert "Adam + L2" in titles and "AdamW" in titles


def test_every_slider_moves_the_numbers_drawn():
    """Each enabled slider of the trajectory tab, moved, changes the charts' data (one page per pair, the
    sliders moved one after another: each move must change what the previous state drew)."""
    moved = set()
    for pair in ("adam", "sgd"):
        at = fresh({"pair": pair})
        sliders = [(s.key, "slider") for s in at.slider if not s.disabled] + \
                  [(s.key, "select_slider") for s in at.select_slider if not s.disabled]
        sliders.sort(key=lambda s: s[0] == "steps")     # 500 → 3,500 steps last: every other move stays cheap
        for key, kind in sliders:
            s = getattr(at, kind)(key=key)
            before = trajectory_data(at)
            if kind == "slider":
                lo, hi = s.min, s.max
                s.set_value(lo + (hi - lo) * 0.7 if isinstance(lo, float) else int(lo + (hi - lo) * 0.7)).run()
            else:
                s.set_value(s.options[-2] if s.value != s.options[-2] else s.options[1]).run()
            assert not at.exception, key
            assert trajectory_data(at) != before, key          # the move reached the numbers drawn
            moved.add(key)
    assert moved == {"lr", "wd", "beta1", "beta2", "eps", "momentum", "steps", "x0", "y0", "noise", "warmup"}
    at = fresh({"form": "paper"})
    assert not at.exception
    assert any("λ_torch = λ/α" in i.value for i in at.info)


def test_corrected_form_and_constant_decay_reach_the_numbers_drawn():
    """The corrected form is the PyTorch form under a constant schedule (the page says so) and differs under
    a cosine; the "decay follows η_t" toggle changes a cosine run; both are in the URL."""
    at = fresh({"form": "corrected"})
    assert not at.exception and any("corrected form is the PyTorch form" in i.value for i in at.info)
    at = fresh({"form": "corrected", "schedule": "cosine"})
    cosine = trajectory_data(at)
    assert cosine != trajectory_data(fresh({"form": "torch", "schedule": "cosine"}))
    assert "AdamW (corrected form)" in json.dumps(specs(at)[:2])
    at.toggle(key="decay_follows").set_value(False).run()
    assert not at.exception and trajectory_data(at) != cosine
    assert at.query_params["decay_follows"] == "false" and at.query_params["form"] == "corrected"


@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau", "rastrigin", "quadratic"])
@pytest.mark.parametrize("schedule", ["cosine", "warm_restarts"])
def test_each_surface_and_schedule(surface, schedule):
    at = fresh()
    at.selectbox(key="surface").set_value(surface).run()
    at.selectbox(key="schedule").set_value(schedule).run()
    assert not at.exception
    assert len(specs(at)) >= 4


def test_divergence_is_a_message_not_a_traceback():
    at = fresh()
    at.selectbox(key="surface").set_value("rosenbrock").run()
    at.radio(key="pair").set_value("sgd").run()
    at.select_slider(key="lr").set_value(1.0).run()
    assert not at.exception
    assert any("diverged at step" in e.value for e in at.error)


def test_live_training_starts_advances_and_stops():
    at = fresh(view="train")
    assert not at.exception
    # the most steps and the widest model: two 0.6 s ticks must not finish the run on a fast machine
    # (a CI machine ran all 1,500 default steps in two ticks and the Stop button was already disabled)
    at.select_slider(key="t_steps").set_value(10000).run()
    at.select_slider(key="t_width").set_value(512).run()
    at.button(key="t_start").click().run()
    assert not at.exception
    assert at.session_state["live"].running
    first = live_until(at, lambda live: live.step > 0).step      # trained in a worker, a second at a time
    live_until(at, lambda live: live.step > first)
    assert any("step" in p.proto.text for p in at.get("progress"))
    assert len(specs(at)) >= 6
    at.button(key="t_stop").click().run()
    assert not at.exception and not at.session_state["live"].running
    stopped = at.session_state["live"].step
    time.sleep(1.5)                              # the second in flight finishes and is dropped
    at.run()
    assert at.session_state["live"].step == stopped


def test_live_training_sgd_pair_and_diverging_run_show_messages():
    at = fresh(view="train")
    at.radio(key="t_pair").set_value("sgd").run()
    at.select_slider(key="t_lr").set_value(0.5).run()
    at.select_slider(key="t_steps").set_value(100).run()
    at.button(key="t_start").click().run()
    live_until(at, lambda live: not live.running)
    assert not at.exception
    assert list(at.session_state["live"].cfg.optimizers) == ["sgd-l2", "sgdw"]


def test_sweep_tab_runs_a_small_grid_and_draws_heatmaps():
    at = fresh(view="sweep")
    at.slider(key="s_n_lr").set_value(2).run()
    at.slider(key="s_n_wd").set_value(3).run()
    at.slider(key="s_seeds").set_value(1).run()
    at.select_slider(key="s_steps").set_value(100).run()
    at.select_slider(key="s_samples").set_value(100).run()
    assert not at.exception
    before = len(specs(at))
    assert "Press ▶ Run sweep" in " ".join(i.value for i in at.info)
    assert not any("quiet 2-core" in i.value for i in at.info)   # no timings of another machine before a run
    at.button(key="s_run").click().run()
    assert not at.exception
    heat = [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]
    assert len(heat) == 3 and len(specs(at)) == before + 3
    # the run's own script run redraws the cost line: the pre-run estimate gives way to "cached"
    line = next(c.value for c in at.caption if "cells ×" in c.value)
    assert "cached" in line and "about" not in line, line
    assert any("Slopes" in m.value for m in at.markdown)
    # switching to the SGD preset sets its own grid; nothing raises
    at.selectbox(key="s_preset").set_value("sgd").run()
    assert not at.exception
    at.selectbox(key="s_preset").set_value("large-init").run()
    assert not at.exception and at.select_slider(key="s_init_scale").value == 8.0
    assert at.select_slider(key="s_samples").value == 1200


def test_sweep_link_with_the_corrected_form_and_constant_decay():
    """A link turns on the fourth heat map and constant decay; under constant decay the corrected form is the
    PyTorch form, so its best λ must be exactly the PyTorch form's (ratio 1, expected and measured)."""
    link = {"s_n_lr": "2", "s_n_wd": "3", "s_seeds": "1", "s_steps": "100", "s_samples": "100",
            "s_corrected": "true", "s_decay_follows": "false"}
    at = fresh(link, view="sweep")
    assert not at.exception and not at.warning
    assert at.toggle(key="s_corrected").value and not at.toggle(key="s_decay_follows").value
    assert at.slider(key="s_wd_adamw-corrected").value == at.slider(key="s_wd_adamw-torch").value
    at.button(key="s_run").click().run()
    assert not at.exception
    heat = [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]
    assert len(heat) == 4 and "corrected" in json.dumps(heat)     # (titles wrap at the chart width)
    text = " ".join(m.value for m in at.markdown)
    assert "**Corrected form.**" in text and "**1×**" in text and "constant decay" in json.dumps(heat)


def test_live_training_link_with_the_corrected_form_warmup_and_constant_decay():
    at = fresh({"t_form": "corrected", "t_warmup": "100", "t_decay_follows": "false", "t_steps": "100"},
               view="train")
    assert not at.exception and not at.warning
    assert at.radio(key="t_form").value == "corrected" and at.select_slider(key="t_warmup").value == 100
    at.button(key="t_start").click().run()
    cfg = at.session_state["live"].cfg
    assert (cfg.optimizers, cfg.warmup, cfg.decay_follows) == (("adam-l2", "adamw-corrected"), 100, False)


def test_share_link_restores_every_widget_and_the_numbers():
    link = {"surface": "rosenbrock", "pair": "sgd", "lr": "0.001", "wd": "0.01", "momentum": "0.5",
            "steps": "800", "x0": "-1.5", "y0": "2", "schedule": "warm_restarts", "t0": "50", "noise": "0.1",
            "seed": "3", "t_lr": "0.002", "t_model": "mlp-ln", "t_init": "8", "s_preset": "layernorm"}
    at = fresh(link)
    assert not at.exception and not at.warning
    assert at.selectbox(key="surface").value == "rosenbrock"
    assert at.radio(key="pair").value == "sgd"
    assert at.select_slider(key="lr").value == 0.001
    assert at.slider(key="momentum").value == 0.5 and at.slider(key="steps").value == 800
    assert (at.slider(key="x0").value, at.slider(key="y0").value) == (-1.5, 2.0)
    assert at.number_input(key="t0").value == 50 and at.number_input(key="seed").value == 3
    numbers = trajectory_data(at)
    show(at, "train")
    assert at.selectbox(key="t_model").value == "mlp-ln" and at.select_slider(key="t_lr").value == 0.002
    assert at.select_slider(key="t_init_scale").value == 8.0
    show(at, "sweep")
    assert at.selectbox(key="s_preset").value == "layernorm" and not at.warning
    show(at, "traj")
    assert trajectory_data(at) == numbers and at.select_slider(key="lr").value == 0.001
    # the same widgets set by hand give identical numbers (seeded noise included)
    by_hand = fresh()
    by_hand.selectbox(key="surface").set_value("rosenbrock").run()
    by_hand.radio(key="pair").set_value("sgd").run()
    for key, value in (("lr", 0.001), ("wd", 0.01), ("noise", 0.1)):
        by_hand.select_slider(key=key).set_value(value).run()
    by_hand.slider(key="momentum").set_value(0.5).run()
    by_hand.slider(key="steps").set_value(800).run()
    by_hand.slider(key="x0").set_value(-1.5).run()
    by_hand.slider(key="y0").set_value(2.0).run()
    by_hand.selectbox(key="schedule").set_value("warm_restarts").run()
    by_hand.number_input(key="t0").set_value(50).run()
    by_hand.number_input(key="seed").set_value(3).run()
    assert trajectory_data(by_hand) == trajectory_data(at)


@pytest.mark.parametrize("garbage", [
    {"lr": "abc"}, {"surface": "zzz"}, {"steps": "-5"}, {"beta2": "7"}, {"x0": "1e999"}, {"noise": "nan"},
    {"seed": "xyz"}, {"t_model": "resnet"}, {"s_n_lr": "99"}, {"view": "nope"}, {"foo": "bar"},
    {"lr": "x" * 5000}, {"t_steps": "1500,3000"}, {"s_normalized": "maybe"}, {"t_init": "3"}, {"s_init": "0"},
])
def test_garbage_link_warns_by_name_and_uses_defaults(garbage):
    (key, _), = garbage.items()
    tab = {"t": "train", "s": "sweep"}.get(key[0]) if key[1:2] == "_" else None
    at = fresh(garbage, view=tab)          # a tab's parameters are checked when that tab opens
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert key[:40] in text, text
    if tab:
        show(at, "traj")
    assert len(specs(at)) >= 4                      # the page still works
    assert at.select_slider(key="lr").value == 0.05 and at.selectbox(key="surface").value == "quadratic"


def test_share_link_lists_exactly_the_changed_controls():
    at = fresh()
    code = [c.value for c in at.code]
    assert any(c.endswith("/") or "?" not in c for c in code)          # defaults: no query at all
    at.select_slider(key="lr").set_value(0.01).run()
    at.selectbox(key="surface").set_value("himmelblau").run()
    show(at, "train")
    at.select_slider(key="t_wd").set_value(0.1).run()
    show(at, "traj")
    link = [c.value for c in at.code if "lr=" in c.value][0]
    query = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))
    assert query["lr"] == "0.01" and query["surface"] == "himmelblau" and query["t_wd"] == "0.1"
    # …and that link, opened, restores the same widgets
    assert "view" not in query                                          # back on the first tab
    again = fresh(query)
    assert again.select_slider(key="lr").value == 0.01 and again.selectbox(key="surface").value == "himmelblau"
    show(again, "train")
    assert again.select_slider(key="t_wd").value == 0.1 and not again.warning


def test_insight_panels_open_and_compute():
    at = fresh({"i2_form": "corrected", "i3_form": "corrected"}, view="insights")  # default form: test_user_paths
    assert not at.exception
    text = " ".join(c.value for c in at.caption)
    assert "Largest distance over 1,000 steps" in text and "still leaves a mean distance" in text
    # the Prop. 2 paths and the effective-decay chart name the corrected form (with the default form only
    # panel 4, which always shows all four forms, does)
    assert sum("corrected" in json.dumps(s) for s in specs(at)) == 3
    assert any("Which invariant each form keeps" in m.value for m in at.markdown)
    # every heavy computation switched on in one rerun, as a user who clicked them all before it ended
    at.toggle(key="i1_model").set_value(True)
    at.toggle(key="i3_model").set_value(True)
    at.select_slider(key="i5_steps").set_value(300)
    at.select_slider(key="i5_n").set_value(21)
    at.toggle(key="i5_go").set_value(True).run()
    assert not at.exception
    assert any("Loss landscape" in json.dumps(s.get("title", "")) for s in specs(at))
    at.radio(key="i5_kind").set_value("random")          # (the trained pair is reused: only the plane is new)
    at.radio(key="i2_form").set_value("paper")
    at.selectbox(key="i1_surface").set_value("himmelblau").run()
    assert not at.exception


def _page_order(node, out=None) -> list[str]:
    """The page's charts and markdown texts in the order they stand on it."""
    out = [] if out is None else out
    for child in (node.children.values() if isinstance(getattr(node, "children", None), dict) else []):
        out.append("chart" if child.type == "vega_lite_chart" else str(getattr(child, "value", ""))[:20])
        _page_order(child, out)
    return out


def test_a_moved_control_sends_the_tables_numbers_before_the_charts_are_built(monkeypatch):
    """The summary table (the new numbers a visitor waits for) is written before the four charts are built, into a
    box that stays under them on the page; a setting's numbers and its charts are cached apart."""
    from explorer.ui import trajectories
    order = []
    table, specs_of = trajectories.markdown_table, trajectories.trajectory_specs
    monkeypatch.setattr(trajectories, "markdown_table", lambda *a, **k: order.append("table") or table(*a, **k))
    monkeypatch.setattr(trajectories, "trajectory_specs", lambda key: order.append("charts") or specs_of(key))
    at = fresh()
    wd = at.select_slider(key="wd")
    wd.set_value(wd.options[1] if wd.value != wd.options[1] else wd.options[2]).run()
    assert not at.exception
    assert order == ["table", "charts"] * 2
    page = _page_order(at.main)
    assert page.count("chart") == 4
    assert max(i for i, e in enumerate(page) if e == "chart") < page.index("| optimizer | end x ")  # table under
