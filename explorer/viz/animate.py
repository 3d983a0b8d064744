"""The race as an animated GIF: both trajectory panels, the paths growing, the step readout.

Every frame is the trajectory view's own figure (figures.race_chart) with its playback step set. Rendering
the whole figure costs ~0.8 s a frame (vl-convert, mostly axes, titles and the surface image), so the parts
that do not move are rendered once: the figure without its playback layers (playback.RACE_LAYER) is the
background, and each frame renders only the playback layers of each panel — the same layers, scales and
size, on a transparent canvas — and lays them over the background where the scenegraph puts that panel's
plot (so the moving marker passes over the ◆, not under it as in the app). tests/test_race.py checks a
composed frame against the whole figure rendered at the same step."""
from __future__ import annotations

import copy
import io

import numpy as np
from PIL import Image

from explorer.viz import figures
from explorer.viz.chartkit import RACE
from explorer.viz.playback import RACE_LAYER

DEFAULT_FRAMES, DEFAULT_FPS, HOLD_SECONDS = 48, 12, 2.0
MAX_FRAMES, MAX_FPS = 600, 50
PAD, TOP = 12, 28      # px around a panel's playback layers: marks at the edge, the readout above the plot


def frame_schedule(n_steps: int, frames: int) -> list[int]:
    """The step each frame shows: evenly spaced from 0 to n_steps; with more frames than steps, one step a
    frame and the frames beyond the path's end hold the last one."""
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    if frames - 1 > n_steps:
        return [min(i, n_steps) for i in range(frames)]
    return [i * n_steps // (frames - 1) for i in range(frames)]


def _views(spec: dict) -> list[dict]:
    return spec["hconcat"] if "hconcat" in spec else [spec]


def _is_race(layer: dict) -> bool:
    return str(layer.get("name", "")).startswith(RACE_LAYER)


def background_spec(spec: dict) -> dict:
    """The figure with its playback layers transparent (still laid out: the readout above the plot keeps
    its room, so the background has the figure's layout)."""
    bg = copy.deepcopy(spec)
    for view in _views(bg):
        for layer in filter(_is_race, view["layer"]):
            mark = layer["mark"] if isinstance(layer["mark"], dict) else {"type": layer["mark"]}
            layer["mark"] = {**mark, "opacity": 0}
            layer.setdefault("encoding", {})["opacity"] = {"value": 0}
    return bg


def panel_specs(spec: dict) -> list[dict]:
    """Each panel's playback layers alone: same size and scales, no axes, title or legend, the plot at
    (PAD, TOP) of the canvas."""
    out = []
    for view in _views(spec):
        layers = [la for la in view["layer"] if _is_race(la)]
        used = {la.get("data", {}).get("name") for la in layers}
        out.append({
            "$schema": spec.get("$schema"),
            "datasets": {k: v for k, v in spec.get("datasets", {}).items() if k in used},
            "params": copy.deepcopy(spec.get("params", []) + view.get("params", [])),
            "layer": copy.deepcopy(layers),
            "width": view["width"], "height": view["height"],
            "autosize": {"type": "none"}, "padding": {"left": PAD, "right": PAD, "top": TOP, "bottom": PAD},
            "config": {**spec.get("config", {}), "axis": {"disable": True}, "legend": {"disable": True},
                       "view": {"stroke": None}},
        })
    return out


def _set_step(spec: dict, step: int) -> dict:
    for param in spec.get("params", []):
        if param.get("name") == RACE:
            param["value"] = int(step)
    return spec


def _png(spec: dict, scale: float) -> Image.Image:
    import vl_convert as vlc
    return Image.open(io.BytesIO(vlc.vegalite_to_png(spec, scale=scale))).convert("RGBA")


def _plot_origins(spec: dict, scale: float) -> list[tuple[int, int]]:
    """Where each panel's plot area starts in the rendered figure (px)."""
    import vl_convert as vlc
    sg = vlc.vegalite_to_scenegraph(spec)
    ox, oy = sg.get("origin", [0, 0])
    root = sg["scenegraph"]["items"][0]
    groups = [it for mark in root["items"] if mark.get("marktype") == "group"
              and str(mark.get("name", "")).startswith("concat_") for it in mark["items"]]
    if not groups:                                # a single panel: its plot is the root's
        groups = [root]
    return [(round((ox + g.get("x", 0)) * scale), round((oy + g.get("y", 0)) * scale)) for g in groups]


class RaceRenderer:
    """Renders the race figure `spec` at any playback step, the background once.

    A panel's playback layers are rendered twice, over black (B) and over white (W): their opacity at a
    pixel is α = 1 − (W − B)/255 and their colour times α is B, so over the background G the pixel is
    B + (W − B)·G/255 (vl-convert's PNGs with a transparent background lose the colour of half-transparent
    pixels: it keeps each channel ≤ alpha)."""

    def __init__(self, spec: dict, scale: float = 1.0):
        self.scale = scale
        bg = background_spec(spec)
        self.background = np.asarray(_png(bg, scale).convert("RGB"), dtype=np.int32)
        self.origins = _plot_origins(bg, scale)
        self.panels = panel_specs(spec)

    def frame(self, step: int) -> Image.Image:
        img = self.background.copy()
        for panel, (x, y) in zip(self.panels, self.origins):
            panel = _set_step(panel, step)
            black, white = (np.asarray(_png({**panel, "background": c}, self.scale).convert("RGB"), dtype=np.int32)
                            for c in ("black", "white"))
            x0, y0 = x - round(PAD * self.scale), y - round(TOP * self.scale)
            # the part of the panel's canvas inside the figure
            cx, cy = max(0, -x0), max(0, -y0)
            h = min(black.shape[0] - cy, img.shape[0] - y0 - cy)
            w = min(black.shape[1] - cx, img.shape[1] - x0 - cx)
            b, wh = black[cy:cy + h, cx:cx + w], white[cy:cy + h, cx:cx + w]
            region = (slice(y0 + cy, y0 + cy + h), slice(x0 + cx, x0 + cx + w))
            img[region] = b + ((wh - b) * img[region] + 127) // 255
        return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def race_gif(p: dict, frames: int = DEFAULT_FRAMES, fps: float = DEFAULT_FPS, scale: float = 1.0,
             data=None) -> bytes:
    """An animated GIF of the trajectory view `p` (keys of params.TRAJECTORY): `frames` frames at `fps`,
    the last held HOLD_SECONDS longer. Same parameters → the same bytes. `data`: (frame, diverged, fixed)
    already computed for p."""
    if not 2 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between 2 and {MAX_FRAMES}, got {frames}")
    if not 1 <= fps <= MAX_FPS:
        raise ValueError(f"fps must be between 1 and {MAX_FPS}, got {fps:g}")
    frame, diverged, fixed = data or figures.trajectory_data(p)
    spec = figures.race_chart(p, frame, diverged, fixed).to_dict()
    renderer = RaceRenderer(spec, scale)
    images = [renderer.frame(s) for s in frame_schedule(int(frame["step"].max()), frames)]
    return encode_gif(images, fps)


def race_gif_of(params: tuple) -> bytes:
    """race_gif of a view given as its (name, value) pairs (a hashable job for the app's worker processes)."""
    return race_gif(dict(params))


def encode_gif(images: list[Image.Image], fps: float) -> bytes:
    """One palette for every frame (from the last, which shows every colour of the race), no dithering: the
    colours stay put from frame to frame and the bytes are deterministic. Identical consecutive frames
    become one longer frame (Pillow)."""
    last = images[-1].convert("RGB")
    palette = last.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    frames = [im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    ms = round(1000 / fps)
    durations = [ms] * (len(frames) - 1) + [ms + round(1000 * HOLD_SECONDS)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False)
    return buf.getvalue()


def frame_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two images' RGB, 0–255."""
    return float(np.abs(np.asarray(a.convert("RGB"), dtype=float) - np.asarray(b.convert("RGB"), dtype=float)).mean())
