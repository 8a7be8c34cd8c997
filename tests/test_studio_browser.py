"""trajtok studio in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium) against the
real server. A screenshot of each step is kept under out/test-artifacts/studio/ (printed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from studio_support import word_strokes

from trajtok.data import load_source
from trajtok.sampling import DEFAULT_TEMPERATURE

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "studio"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (make setup installs it as root)"
)

# Ink pixels on the Write canvas and the page's state, every animation frame until the phrase is done.
WATCH_WRITE = """() => { window.watched = new Promise((resolve) => {
  const canvas = document.getElementById("write-canvas"), seen = [];
  const look = () => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) ink += data[i] > 0;
    seen.push({ink, state: canvas.dataset.state || "", steps: Number(canvas.dataset.steps || 0)});
    if (["done", "error"].includes(canvas.dataset.state) || seen.length > 3000) resolve(seen);
    else requestAnimationFrame(look);
  };
  look();
}); }"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"studio screenshots: {ARTIFACTS}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_write_draws_ink_while_the_stream_runs_and_the_stream_ends(page):
    # the temperature starts at the server's default, the one `trajtok write` uses
    assert float(page.input_value("#temperature")) == DEFAULT_TEMPERATURE
    assert page.text_content("#temperature-value") == f"{DEFAULT_TEMPERATURE:.2f}"
    page.fill("#text", "the quick brown fox jumps")
    page.fill("#seed", "3")
    page.evaluate(WATCH_WRITE)
    page.click("#write")
    frames = page.evaluate("() => window.watched")
    shot(page, "01-write")
    writing = [f for f in frames if f["state"] == "writing"]
    assert frames[-1]["state"] == "done", frames[-1]
    assert any(f["ink"] > 0 for f in writing), "no ink appeared while the phrase was being written"
    assert len({f["ink"] for f in writing if f["ink"]}) >= 2, "the ink did not grow during the stream"
    assert frames[-1]["ink"] > 1000 and frames[-1]["steps"] > 50
    status = page.text_content("#write-status")  # 25 characters: two of the model's lines
    assert status.startswith("2 lines, ") and status.endswith(
        ("ended, seed 3", "cut at the step limit, seed 3")
    )
    assert page.get_attribute("#download-png", "href").endswith(".png")
    page.check("#show-attention")
    page.click("#write")
    page.wait_for_selector("#attention-figure:not([hidden])")
    shot(page, "02-attention")


def test_a_word_bank_model_writes_word_by_word_and_the_page_says_so(browser, word_bank_server):
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    page.goto(word_bank_server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#text", "quiet river stones")
    page.evaluate(WATCH_WRITE)
    page.click("#write")
    frames = page.evaluate("() => window.watched")
    shot(page, "02b-word-by-word")
    assert frames[-1]["state"] == "done" and frames[-1]["ink"] > 500, frames[-1]
    assert any(f["ink"] > 0 for f in frames if f["state"] == "writing"), "no ink while writing"
    status = page.text_content("#write-status")
    assert status.startswith("word by word, "), status
    context.close()


def test_a_drawn_word_is_read_and_saved_into_the_dataset(page, server):
    pad = page.locator("#pad").bounding_box()
    scale = pad["width"] / 800
    for stroke in word_strokes("river", style=1):
        xy = [(pad["x"] + x * scale, pad["y"] + y * scale) for x, y in stroke.tolist()]
        page.mouse.move(*xy[0])
        page.mouse.down()
        for point in xy[1:]:
            page.mouse.move(*point)
        page.mouse.up()
    page.wait_for_function("document.getElementById('reading').dataset.ms !== ''")
    page.wait_for_timeout(300)  # the read after the last pen lift
    shot(page, "03-read")
    assert page.text_content("#reading") == "river"
    print(f"the reading was shown {page.get_attribute('#reading', 'data-ms')} ms after the pen lifted")
    assert page.input_value("#label") == "river"  # the reading is offered as the label
    page.fill("#writer", "tester")
    page.click("#save")
    page.wait_for_selector("#save-status:has-text('saved')")
    page.wait_for_selector("#samples li")
    shot(page, "04-saved")
    samples = load_source(str(server.data_dir / "tester.json"), split="all")
    assert [s.text for s in samples] == ["river"]
    assert "river" in page.text_content("#samples")
    assert page.locator("#samples svg.thumbnail polyline").count() == len(word_strokes("river", style=1))


def test_a_bad_request_shows_a_readable_error(page):
    page.fill("#text", "a phrase far too long for this model to read in one go, " * 2)
    page.click("#write")
    page.wait_for_selector("#error:not([hidden])")
    shot(page, "05-error")
    message = page.text_content("#error")
    assert "Write:" in message and "characters; at most 64 fit" in message, message
    page.fill("#writer", "../../etc")
    page.fill("#label", "x")
    page.mouse.move(100, 100)
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 50, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 120)
    page.mouse.up()
    page.click("#save")
    page.wait_for_selector("#error:has-text('Save:')")
    shot(page, "06-bad-writer")
    assert "writer name" in page.text_content("#error") or "Not Found" in page.text_content("#error")


@pytest.mark.slow
def test_send_to_the_robot_shows_progress_then_the_board_and_its_metrics(page):
    page.fill("#text", "hi")
    page.click("#write")
    page.wait_for_selector("#write-canvas[data-state='done']")
    page.click("#robot")
    page.wait_for_selector("#robot-progress")
    page.wait_for_selector(
        "#robot-panel[data-state='done'], #robot-panel[data-state='failed']", timeout=240_000
    )
    shot(page, "07-robot")
    assert page.get_attribute("#robot-panel", "data-state") == "done", page.text_content("#error")
    assert page.locator("#board").is_visible()
    assert page.evaluate("document.getElementById('board').naturalWidth") > 100  # the picture loaded
    rows = page.locator("#robot-metrics tr")
    shown = {rows.nth(i).get_attribute("title"): rows.nth(i).inner_text() for i in range(rows.count())}
    assert re.fullmatch(r"pen-tip tracking error \(RMSE\)\s+\d+\.\d{3} mm", shown["tracking_rmse_mm"])
    assert re.fullmatch(r"pen-down path inked\s+\d+\.\d %", shown["inked_fraction"])
