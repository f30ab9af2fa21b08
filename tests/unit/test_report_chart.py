"""The report's picture: each level on its own scale, stacked by what draws from it, figures the
tables print, labels inside the canvas, no empty bar; and the page opens in a headless browser."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from aion_factory import load_stack_file, make_plan
from aion_factory.fleet.stacks import fleet_of
from aion_factory.plan_document import plan_document
from aion_factory.rendering import render
from aion_factory.report import format_table, write_report
from aion_factory.report_chart import CHAR_PX, SMALL_CHAR_PX, power_chart, text_bars
from aion_factory.wording import count
from support import ROOT

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def dc5():
    return make_plan(load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml"))


@pytest.fixture(scope="module")
def aion_200mw():
    return make_plan(fleet_of(ROOT / "examples/aion-200mw/site.yaml", ROOT / "examples/aion-200mw/stacks").spec)


def test_the_table_the_chart_and_the_json_give_one_percentage_per_level(dc5):
    # hall-1 is oversubscribed (x1.1): 1,555.3 kW of its 4,000 kW budget is 38.9%; the table once
    # printed 35.3%, a share of its 4,400 kW limit, beside the chart's 38.9%.
    table_rows = {line.split()[0]: line.split()[4] for line in format_table(dc5).splitlines() if line.startswith("dc5")}
    chart_rows = {bar.path: bar.figures.split(" ")[0] for bar in power_chart(dc5).levels}
    json_rows = {lv.path: f"{lv.percent_of_budget:.1f}%" for lv in plan_document(dc5).levels}
    assert table_rows == chart_rows == json_rows
    assert table_rows["dc5/hall-1"] == "38.9%"


def test_each_level_is_a_share_of_its_own_budget_with_the_limit_beside_it(dc5):
    chart = power_chart(dc5)
    hall, row_a = chart.levels[1], chart.levels[2]
    assert hall.path == "dc5/hall-1" and round(hall.percent, 1) == 38.9  # 1,555.3 of its 4,000 kW, not of the site's
    assert round(row_a.percent, 1) == 89.8  # 897.6 of 1,000 kW: a sliver no more
    assert hall.figures == "38.9% · 1,555.3 / 4,000.0 kW, limit 4,400.0"
    px_per_percent = (chart.budget_x - chart.bar_x) / 100
    assert hall.limit_x == pytest.approx(chart.bar_x + 110 * px_per_percent, abs=0.2)  # oversubscription 1.1
    assert row_a.limit_x is None  # no oversubscription: its limit is the budget line
    # Bars end where their percent says, on the one axis.
    for bar in chart.levels:
        end = bar.segments[-1].x + bar.segments[-1].width
        assert end == pytest.approx(chart.bar_x + bar.percent * px_per_percent, abs=0.5)


def test_the_chart_says_the_budget_and_limit_the_table_says(dc5, tmp_path):
    markdown, svg, html = write_report(dc5, tmp_path)
    texts = [t.text or "" for t in ET.fromstring(svg.read_text()).iter(f"{SVG}text")]
    for level in dc5.levels:
        row = next(line for line in markdown.read_text().splitlines() if line.startswith(f"| {level.path} |"))
        budget, _, limit, rated = (cell.strip() for cell in row.split("|")[2:6])
        figures = next(t for t in texts if t.startswith(f"{100 * level.rated_kw / level.budget_kw:.1f}% · "))
        assert f"{rated} / {budget} kW" in figures
        assert (f"limit {limit}" in figures) == (level.oversubscription != 1)
    assert "4,400.0" in html.read_text() and "4,000.0" in html.read_text()


def test_a_row_is_stacked_by_pool_a_hall_of_one_pool_clusters_by_cluster_a_big_site_by_hall(dc5, aion_200mw):
    rows = power_chart(dc5).levels
    assert [s.label for s in rows[1].segments] == ["train-1/h100", "train-1/b300", "system pools (CPU)"]
    assert [s.label for s in rows[2].segments] == ["train-1/h100"]
    levels = power_chart(aion_200mw).levels
    assert [s.label for s in levels[0].segments] == ["hall-1", "hall-2", "hall-3", "hall-4"]  # 28 clusters: too many
    assert [s.label for s in levels[1].segments] == [f"h1-c0{i}" for i in range(1, 8)]
    assert all(s.show_label for bar in levels for s in bar.segments)  # each one wide enough for its name


def test_no_bar_is_drawn_empty_and_every_label_fits_the_canvas(aion_200mw, tmp_path):
    empty = make_plan(load_stack_file(ROOT / "examples/aion-200mw.yaml"))  # no cluster: nothing draws power yet
    assert all(bar.segments == () for bar in power_chart(empty).levels)
    for plan in (aion_200mw, empty):
        root = ET.fromstring(render("power.svg.j2", c=power_chart(plan)))
        width = float(root.get("width"))
        for rect in root.iter(f"{SVG}rect"):
            if rect.get("width") != "100%":
                assert float(rect.get("width")) > 0
        for text in root.iter(f"{SVG}text"):
            per_char = SMALL_CHAR_PX if text.get("font-size") == "10" else CHAR_PX
            assert float(text.get("x")) + len(text.text or "") * per_char <= width, text.text


def test_what_the_power_buys_per_node_type_at_200_mw():
    plan = make_plan(load_stack_file(ROOT / "examples/aion-200mw.yaml"))
    buys = {bar.label: bar for bar in power_chart(plan).buys}
    # The planner's answer (a published power figure) is drawn with the same figures as its table line.
    assert buys["B300-SXM-8-288G"].figures == "+11,994 nodes = 95,952 GPUs = 218,183 H100-eq"
    assert buys["H100-SXM-8-80G"].figures.startswith("+17,050 nodes = 136,400 GPUs")
    assert buys["L4-1-24G"].estimate and "power estimated" in buys["L4-1-24G"].figures
    assert "the site now" not in buys  # it has no GPU yet: no bar for it
    assert "RENDER-S" in power_chart(plan).buys_note  # no FP8: named, not drawn


def test_the_comment_draws_the_levels_in_characters_and_links_no_image(dc5, tmp_path):
    assert text_bars(dc5).splitlines()[2].startswith("  hall-1   ██████████████▏")
    markdown = write_report(dc5, tmp_path)[0].read_text()
    assert "![" not in markdown and "<img" not in markdown  # GitHub drops data: URIs; a relative link breaks in a comment
    assert "¦  38.9% · 1,555.3 / 4,000.0 kW, limit 4,400.0" in markdown


def test_the_svg_and_html_templates_escape_what_they_print(dc5):
    # The templates' names end in .j2: autoescape for ["svg"] never matched them.
    chart = replace(power_chart(dc5), buys_title="a<b&c")
    assert "a&lt;b&amp;c" in render("power.svg.j2", c=chart)
    page = render("report.html.j2", plan=dc5, chart=chart, svg="<svg/>", basis_line="x<y", kw=str, percent=str, count=count)
    assert "x&lt;y" in page and "&lt;svg/&gt;" in page  # only a Markup SVG goes in as is


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (.ci/run installs it: apt-get install chromium)")
def test_the_html_page_renders_in_a_headless_browser(aion_200mw, tmp_path):
    html = write_report(aion_200mw, tmp_path)[2]
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert re.search(r"<svg[^>]*width=\"\d+\"", dom)  # the chart is in the page, inline
    assert dom.count("<rect") > 30 and "h4-c07" in dom and "hall-4" in dom


def test_the_readme_shows_a_report_picture_small_enough_to_commit():
    picture = ROOT / "docs/report-200mw.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < picture.stat().st_size < 200_000
    first_screen = (ROOT / "README.md").read_text().splitlines()[:12]
    assert any("](docs/report-200mw.png)" in line for line in first_screen)
