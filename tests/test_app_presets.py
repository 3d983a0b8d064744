"""The sweep tab under AppTest: every preset's default grid shows its heat maps at once (shipped with the app, no
▶ Run sweep); a changed grid shows none until it is run."""
import json

from conftest import fresh, specs

from explorer.runs.sweep import PRESETS


def heat_maps(at):
    return [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]


def cost_line(at) -> str:
    return next(c.value for c in at.caption if "cells ×" in c.value)


def test_the_default_preset_shows_its_heat_maps_without_a_run_and_a_changed_grid_waits():
    at = fresh(view="sweep")
    assert not at.exception
    assert len(heat_maps(at)) == 3
    assert not any("Press ▶ Run sweep" in i.value for i in at.info)
    assert at.button(key="s_run").disabled                       # nothing to compute
    line = cost_line(at)
    assert "precomputed" in line and "about" not in line and "cached" not in line, line
    assert any(c.value.startswith("Precomputed (shipped with the app)") for c in at.caption)
    assert any("Slopes" in m.value for m in at.markdown)
    assert [b for b in at.get("download_button") if b.proto.label == "Download the sweep (CSV)"]
    at.slider(key="s_seeds").set_value(1).run()                  # another grid: computed only on a click
    assert not at.exception and not heat_maps(at)
    assert any("Press ▶ Run sweep" in i.value for i in at.info)
    assert not at.button(key="s_run").disabled and "about" in cost_line(at)
    at.slider(key="s_seeds").set_value(2).run()                  # the preset's own grid again
    assert len(heat_maps(at)) == 3 and "precomputed" in cost_line(at)


def test_every_preset_chosen_shows_its_heat_maps_at_once():
    """The grid the widgets build for a preset is exactly its definition (else nothing would be found)."""
    at = fresh(view="sweep")
    for name, cfg in PRESETS.items():
        at.selectbox(key="s_preset").set_value(name).run()
        assert not at.exception, name
        assert len(heat_maps(at)) == len(cfg.optimizers), name
        assert "precomputed" in cost_line(at), name
