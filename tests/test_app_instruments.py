"""The live tab's equilibrium instruments under AppTest: timescales, the N ≪ 1 warning, rotation charts with
AdamW's predicted line on scale-invariant layers."""
import json

from conftest import fresh, live_until, specs


def test_live_run_shows_timescales_rotation_and_prediction():
    at = fresh({"t_model": "mlp-ln", "t_steps": "100", "t_lr": "0.01", "t_wd": "1", "t_samples": "100"},
               view="train")
    at.button(key="t_start").click().run()
    live_until(at, lambda live: not live.running)
    assert not at.exception and at.session_state["live"].done
    text = " ".join(m.value for m in at.markdown)
    assert "Decay timescales of this run" in text and "Equilibrium instruments" in text
    # N = α·λ·Ση_t = 0.01 · 1 · 50.5 for the PyTorch form (cosine, 100 steps)
    assert "0.505" in text
    rotation = [s for s in specs(at) if "Rotation per step" in json.dumps(s.get("title", ""))]
    assert len(rotation) == 2                                  # one per run
    dumped = [json.dumps(s) for s in rotation]
    assert "predicted (Kosson" not in dumped[0] and "predicted (Kosson" in dumped[1]   # Adam+L2, AdamW
    assert "(scale-invariant)" in dumped[0] and "strokeDash" in dumped[1]
    assert not any("barely act" in w.value for w in at.warning)


def test_default_run_warns_that_decay_can_barely_act():
    # α = 1e-3, λ = 0.05, 100 cosine steps: N = 1e-3 · 0.05 · 50.5 = 0.0025 for the PyTorch form
    at = fresh({"t_steps": "100"}, view="train")
    at.button(key="t_start").click().run()
    live_until(at, lambda live: live.step > 0)
    assert not at.exception
    assert any("barely act" in w.value and "0.0025" in w.value for w in at.warning)
