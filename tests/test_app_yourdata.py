"""Your data in the app (AppTest): a CSV uploaded trains live and sweeps; a bad one is one message and the tab stays
on digits; the share link never holds it; a second session sees neither the data nor its results."""
import json
import re

import pytest
from conftest import fresh, live_until, show, specs
from test_yourdata import BAD, csv

from explorer.ui.yourdata import LINK_NOTE

GOOD = csv(rows=90, features=3, classes=("cat", "dog", "eel"), name="secretcol")


def upload(at, raw: bytes, name: str = "mine.csv"):
    """Choose *Your data* and hand the uploader a file, as a visitor does."""
    if at.radio(key="data_source").value != "your data":
        at.radio(key="data_source").set_value("your data").run()
    at.get("file_uploader")[0].set_value((name, raw, "text/csv")).run()
    assert not at.exception
    return at


def shown(markdown: str) -> str:
    """The text a markdown message shows (its signs are escaped: yourdata.safe_markdown)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def small_grid(at):
    for kind, key, value in (("slider", "s_n_lr", 2), ("slider", "s_n_wd", 3), ("slider", "s_seeds", 1),
                             ("select_slider", "s_steps", 100), ("select_slider", "s_samples", 100)):
        getattr(at, kind)(key=key).set_value(value).run()
    return at


def heatmaps(at):
    return [s for s in specs(at) if "slope" in json.dumps(s.get("title", ""))]


def test_a_good_csv_trains_live_then_the_sweep_computes_on_it():
    at = upload(fresh(view="train"), GOOD)
    assert not at.error and any("90 rows, 3 features, 3 classes" in c.value for c in at.caption)
    at.select_slider(key="t_steps").set_value(100).run()
    at.button(key="t_start").click().run()
    live = live_until(at, lambda live: not live.running)
    assert not at.exception and live.done and live.cfg.data is not None
    assert (live.cfg.model_spec.inputs, live.cfg.model_spec.classes) == (3, 3)
    assert len(specs(at)) >= 6 and any("rows of mine.csv" in json.dumps(s) for s in specs(at))
    show(at, "sweep")                         # the choice and the file follow the visitor to the sweep tab
    assert at.radio(key="data_source").value == "your data" and not at.error
    assert "Press ▶ Run sweep" in " ".join(i.value for i in at.info)     # the preset's shipped grid: not for it
    small_grid(at).button(key="s_run").click().run()
    assert not at.exception and len(heatmaps(at)) == 3
    from explorer.ui import jobs
    done = [k for k in jobs.results()._items if k[0] == "sweep" and k[1].train.data == live.cfg.data]
    assert done, "the sweep on your data is kept under a key that holds the data's digest"


@pytest.mark.parametrize("case", ["empty", "not UTF-8", "ragged", "a text cell", "no target value", "one class",
                                  "too big", "too many rows", "too many columns"])
def test_a_bad_file_is_one_message_and_the_tab_stays_on_digits(case):
    raw, said = BAD[case]
    at = upload(fresh(view="train"), raw)
    assert len(at.error) == 1 and "trains on digits" in at.error[0].value
    assert said in shown(at.error[0].value), at.error[0].value
    assert at.session_state["_t_controls"].data is None
    at.select_slider(key="t_steps").set_value(50).run()
    at.button(key="t_start").click().run()
    assert not at.exception and at.session_state["live"].cfg.data is None
    # a good file afterwards is taken
    upload(at, GOOD)
    assert not at.error and at.session_state["_t_controls"].data is not None


def test_the_share_link_never_holds_the_data_and_says_it_opens_on_digits():
    at = fresh(view="train")
    assert LINK_NOTE not in [i.value for i in at.info]
    upload(at, GOOD, name="secretfile.csv")
    assert not at.exception and LINK_NOTE in [i.value for i in at.info]
    link = json.dumps({k: at.query_params[k] for k in at.query_params.keys()}) + " ".join(
        c.value for c in at.get("code"))
    assert "secret" not in link and "data" not in link and "cat" not in link, link
    at.radio(key="data_source").set_value("digits").run()
    assert LINK_NOTE not in [i.value for i in at.info]


def test_the_test_split_export_neutralizes_a_formula_column_name():
    from explorer.ui.yourdata import test_frame
    from explorer.viz.export import data_bytes
    raw = GOOD.replace(b"secretcol0", b'"=HYPERLINK(""http://x.example"",""y"")"').replace(b"eel", b"@eel")
    at = upload(fresh(view="sweep"), raw)
    assert not at.error
    data = at.session_state["_yourdata_read"][1]
    lines = data_bytes(test_frame(data), "csv").decode().splitlines()
    assert lines[0].startswith('"\'=HYPERLINK(') and lines[0].endswith(",label")
    assert any(",'@eel" in line for line in lines[1:]) and any(line.startswith("-") for line in lines[1:])


def test_a_second_session_sees_neither_the_data_nor_its_results():
    first = small_grid(upload(fresh(view="sweep"), csv(rows=60, shift=0.25)))   # data no other test sweeps
    first.button(key="s_run").click().run()
    assert len(heatmaps(first)) == 3
    second = small_grid(fresh(view="sweep"))            # the same grid on digits: not the first one's result
    assert not second.exception
    # results are shared between sessions by what computed them: the same grid on digits may have been computed by
    # another test in this process and then shows at once — but never the first session's, computed on its file
    mine = [json.dumps(s.get("title", "")) for s in heatmaps(first)]

    def only_digits(at) -> bool:
        titles = [json.dumps(s.get("title", "")) for s in heatmaps(at)]
        return all("digits" in t and t not in mine for t in titles)

    assert only_digits(second)
    if not heatmaps(second):
        assert "Press ▶ Run sweep" in " ".join(i.value for i in second.info)
    second.radio(key="data_source").set_value("your data").run()     # no file yet: it goes on with digits
    assert "_yourdata_file" not in second.session_state and only_digits(second)
    assert "Upload a CSV" in " ".join(i.value for i in second.info)
    assert not second.error
