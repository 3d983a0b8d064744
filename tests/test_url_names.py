"""Links and controls share one reader and one naming rule: every widget's URL value is read by the Spec the
widget is drawn from (Spec.parse, written back with fmt), its name is its section's prefix and the Spec's name,
and the names links used before the rule still open the same view."""
import pytest
from conftest import fresh, show

from explorer.core.fmt import fmt
from explorer.ui import urlstate

TABS = ("traj", "train", "sweep", "insights")


def drawn(view):
    """(the AppTest of a fresh session on that tab, its controls: key → Spec, key → widget value)."""
    at = fresh(view=view)
    specs = dict(at.session_state[urlstate._SPECS])
    return at, specs, {k: at.session_state[k] for k in specs}


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_urlstate_keeps_no_parser_of_its_own():
    for gone in ("url_rule", "_number_parser", "as_text", "BadValue"):
        assert not hasattr(urlstate, gone), gone
    source = open(urlstate.__file__).read()
    assert "float(" not in source and "int(" not in source       # numbers are read by Spec.parse only


@pytest.mark.parametrize("view", TABS)
def test_a_bad_value_for_every_control_is_refused_with_its_specs_reason(view):
    _, specs, defaults = drawn(view)
    at = fresh({key: "zzz" for key in specs}, view=view)
    assert not at.exception
    text = warnings(at)
    for key, spec in specs.items():
        with pytest.raises(ValueError) as e:
            spec.parse("zzz")
        reason = str(e.value).removeprefix(f"{spec.name}: ").replace("'zzz'", "`zzz`")
        assert f"**{key}** = `zzz` is not valid ({reason}" in text, key
        if key not in ("x0", "y0"):                     # (their defaults: the surface's, which a link may change)
            assert at.session_state[key] == defaults[key], key
    assert not set(specs) & set(at.query_params)      # refused values leave the address bar


def _another_valid_text(spec, value):
    """A text Spec.parse accepts for the control, other than its value now (None: none found)."""
    if isinstance(value, tuple):                          # a range: from the first stop (or bound) to the last
        ends = (spec.options[0], spec.options[-1]) if spec.options else (spec.lo, spec.hi)
        return fmt(tuple(ends))
    if spec.kind == "bool":
        return fmt(not value)
    if spec.choices:
        return next(c for c in reversed(spec.choices) if c != value)
    if spec.options:                                      # the first other stop: the cheapest (fewest steps, points)
        return next(fmt(float(o)) for o in spec.options if o != value)             # "1.0" for the stop 1
    return next((fmt(v) for v in (spec.lo, spec.hi) if v is not None and v != value and _ok(spec, fmt(v))), None)


def _ok(spec, text) -> bool:
    try:
        spec.parse(text)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("view", TABS)
def test_every_control_takes_what_its_spec_reads_and_writes_it_back_with_fmt(view):
    _, specs, values = drawn(view)
    link = {k: t for k, s in specs.items() if k not in ("x0", "y0", "s_preset", "s_axis", "s_map_axis", "surface")
            and (t := _another_valid_text(s, values[k])) is not None}
    assert len(link) >= 8
    at = fresh(link, view=view)                  # (Insights computes all six panels at once)
    assert not at.exception and "URL parameter" not in warnings(at)       # (a panel may warn about its numbers)
    for key, text in link.items():
        spec = specs[key]
        got = at.session_state[key]
        want = tuple(spec.parse(t) for t in text.split(",")) if isinstance(got, tuple) and spec.kind != "floats" \
            else spec.parse(text)
        assert got == want, key
        assert at.query_params[key] == fmt(got), key             # written back by fmt, Spec.parse's inverse


# one parameter of each tab: (the name a link used before the one naming rule, the name written now, a value)
OLD_AND_NEW = [("traj", "lr", "lr", "0.01"),                          # bare names: unchanged
               ("train", "t_init", "t_init_scale", "8"),               # the tab had shortened the Spec's name
               ("sweep", "s_init", "s_init_scale", "4"),
               ("insights", "i2_noise", "i2_noise", "1")]            # the panel's prefix: unchanged


@pytest.mark.parametrize("view, old, new, value", OLD_AND_NEW)
def test_a_link_with_the_old_name_opens_what_the_new_name_opens(view, old, new, value):
    by_old, by_new = fresh({old: value}, view=view), fresh({new: value}, view=view)
    assert not by_old.exception and not warnings(by_old) and not warnings(by_new)
    default = drawn(view)[2][new]
    assert by_old.session_state[new] == by_new.session_state[new] != default
    assert by_old.query_params[new] == by_new.query_params[new] == value
    assert old == new or old not in by_old.query_params                 # the address bar holds the new name


def test_old_names_are_only_the_renamed_ones_and_each_new_name_is_a_control():
    at = fresh()
    for view in ("train", "sweep"):
        show(at, view)
    specs = at.session_state[urlstate._SPECS]
    assert set(urlstate.OLD_NAMES.values()) <= set(specs)
    assert not set(urlstate.OLD_NAMES) & set(specs)


def test_an_old_name_that_is_refused_is_named_as_the_link_wrote_it_and_the_new_name_wins():
    at = fresh({"t_batch": "3"}, view="train")
    assert "**t_batch** (now **t_batch_size**)" in warnings(at) and "one of 8, 16, 32" in warnings(at)
    at = fresh({"t_samples": "100", "t_train_samples": "200"}, view="train")
    assert at.session_state["t_train_samples"] == 200 and "t_samples" not in at.query_params


def test_the_naming_rule_gives_every_control_of_every_tab_its_own_name():
    """url_name(section, spec) = PREFIX[section] + spec.name, and no two controls share a name."""
    from explorer.interface.params import INSIGHT, REGIME_MAP, SWEEP_GRID, TRAIN, TRAJECTORY
    assert urlstate.url_name("trajectories", TRAJECTORY["lr"]) == "lr"
    assert urlstate.url_name("training", TRAIN["init_scale"]) == "t_init_scale"
    assert urlstate.url_name("sweep", SWEEP_GRID["lr_range"]) == "s_lr_range"
    assert urlstate.url_name("sweep", REGIME_MAP["map_axis"]) == "s_map_axis"
    assert urlstate.url_name("insight6", INSIGHT[6]["lr"]) == "i6_lr"
    keys = []
    for view in TABS:                                       # the controls actually drawn: one name each
        _, specs, _ = drawn(view)
        assert all(urlstate.url_name(_section(view, key), spec) == key for key, spec in specs.items())
        keys += list(specs)
    assert len(keys) == len(set(keys)) > 90


def _section(view, key):
    return {"traj": "trajectories", "train": "training", "sweep": "sweep"}.get(view) or f"insight{key[1]}"
