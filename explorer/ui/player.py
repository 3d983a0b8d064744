"""Playback without a server round trip: a play/pause button and a step slider that drive every chart's
Vega-Lite parameter of the same name in the browser.

Each chart binds its step parameter to a range input of its own (Vega puts it under the chart, named after
the parameter); this player hides those and sets them all at once, so the charts move in sync. Nothing
goes to the server: a Vega parameter is not a Streamlit widget, and the player is plain HTML and a small
script (st.html runs it in the page; nothing is loaded from elsewhere). Charts drawn after the player (a
rerun) are set to the player's step as they appear."""
from __future__ import annotations

import json

import streamlit as st

PLAY_SECONDS = 6.0     # a whole playback, however many steps

_SCRIPT = """
(() => {
  const box = document.getElementById(%(id)s);
  if (!box || box.dataset.ready) return;
  box.dataset.ready = "1";
  const steps = JSON.parse(box.dataset.steps), last = steps.length - 1, param = box.dataset.param;
  const button = box.querySelector("button"), range = box.querySelector("input"), out = box.querySelector("output");
  const inputs = () => document.querySelectorAll('.vega-bindings input[name="' + param + '"]');
  const frameMs = %(ms)s / Math.max(1, last);
  let timer = null;
  // the value a chart's input can take: an input clamps what it cannot hold (a chart drawn for fewer steps),
  // and comparing with the unclamped step would set it again on every redraw, forever
  const held = (el, s) => Math.min(Math.max(s, el.min === "" ? s : +el.min), el.max === "" ? s : +el.max);
  function show(i) {
    range.value = i;
    const s = steps[i];
    out.textContent = "step " + s.toLocaleString("en-US") + " / " + steps[last].toLocaleString("en-US");
    box.dataset.step = s;
    for (const el of inputs()) {
      const v = held(el, s);
      if (+el.value !== v) { el.value = v; el.dispatchEvent(new Event("input")); }
    }
  }
  function stop() {
    if (timer !== null) cancelAnimationFrame(timer);
    timer = null;
    button.textContent = "\\u25B6 Play";
    box.dataset.playing = "";
  }
  function play() {
    const from = +range.value >= last ? 0 : +range.value, t0 = performance.now();
    button.textContent = "\\u275A\\u275A Pause";
    box.dataset.playing = "1";
    const tick = now => {
      // a frame's timestamp is when the frame began, which can precede the click's performance.now(): a
      // negative elapsed time made the first step -1 (steps[-1] undefined), the tick threw and play froze
      const i = Math.min(last, from + Math.floor(Math.max(0, now - t0) / frameMs));
      show(i);
      if (i >= last) stop(); else timer = requestAnimationFrame(tick);
    };
    timer = requestAnimationFrame(tick);
  }
  button.addEventListener("click", () => (timer === null ? play() : stop()));
  range.addEventListener("input", () => { stop(); show(+range.value); });
  // charts drawn after the player (a rerun redraws them at their last step) start where it stands
  const observer = new MutationObserver(() => {
    if (!box.isConnected) { observer.disconnect(); stop(); return; }
    for (const el of inputs()) if (+el.value !== held(el, steps[+range.value])) { show(+range.value); break; }
  });
  observer.observe(document.body, {childList: true, subtree: true});
  show(+range.value);
})();
"""

_STYLE = """
.vega-bindings:has(input[name="%(param)s"]) { display: none; }
#%(id)s { display: flex; align-items: center; gap: 0.75rem; font-size: 0.9rem; }
#%(id)s button { padding: 0.2rem 0.8rem; border-radius: 0.5rem; border: 1px solid rgba(49, 51, 63, 0.25);
  background: white; cursor: pointer; white-space: nowrap; font: inherit; }
#%(id)s input { flex: 1; accent-color: #ff4b4b; }
#%(id)s output { min-width: 9rem; font-variant-numeric: tabular-nums; }
"""


def player_html(param: str, steps, label: str = "Playback") -> str:
    """The player's HTML: `param` the charts' parameter, `steps` the steps it stops at (ascending ints);
    it starts at the last (the charts' own default)."""
    steps = [int(s) for s in steps]
    if not steps or steps != sorted(steps):
        raise ValueError("steps must be a non-empty ascending list")
    if not param.isidentifier():
        raise ValueError(f"not a parameter name: {param!r}")
    box = f"player-{param}"
    last = len(steps) - 1
    return (
        f"<style>{_STYLE % {'param': param, 'id': box}}</style>"
        f'<div id="{box}" class="xp-player" data-param="{param}" data-steps="{json.dumps(steps)}" '
        f'data-step="{steps[-1]}">'
        f'<button type="button" title="Play / pause the race">&#9654; Play</button>'
        f'<input type="range" min="0" max="{last}" step="1" value="{last}" aria-label="{label}: step">'
        f"<output>step {steps[-1]:,} / {steps[-1]:,}</output></div>"
        f"<script>{_SCRIPT % {'id': json.dumps(box), 'ms': int(PLAY_SECONDS * 1000)}}</script>"
    )


def player(param: str, steps, label: str = "Playback") -> None:
    """A play/pause button and step slider driving every chart's `param` in the browser (no rerun)."""
    st.html(player_html(param, steps, label), unsafe_allow_javascript=True)
