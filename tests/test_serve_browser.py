"""The page of `handwrite serve` in a real browser (Playwright + Debian's chromium), on the
tiny untrained model served on 127.0.0.1: write and watch it grow, change the hand,
download, record a primer and write with it, see an error.  Skipped where chromium or
playwright is missing."""
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[browser]'")

from serve_browser import CHROMIUM, chromium, draw_line, open_page, write  # noqa: E402

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


class FixedReader:
    """Reads every recorded line as "the cat sat" (the real reader is tested on its own)."""
    def read(self, points):
        return "the cat sat"


@pytest.fixture(scope="module")
def url():
    from conftest import make_tiny_model_parts

    from handwrite.server import background_server, create_app
    from handwrite.writer import Writer
    app = create_app(Writer.from_model(*make_tiny_model_parts()), reader=FixedReader())
    with background_server(app) as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, url):
    with open_page(browser, url) as p:
        yield p
        assert not p.outside, f"the page asked for {p.outside}"
        assert not p.errors, f"script errors: {p.errors}"


def final_paths(page) -> list[str]:
    return page.eval_on_selector_all("#result-svg path", "ps => ps.map(p => p.getAttribute('d'))")


def test_the_writing_grows_while_it_streams(page):
    page.evaluate("""() => {
        window.seen = [];
        new MutationObserver(() => window.seen.push(+document.querySelector('#paper').dataset.points))
            .observe(document.querySelector('#paper'), {attributes: true, attributeFilter: ['data-points']});
    }""")
    write(page, "hello there\nsecond line")
    assert page.get_attribute("#paper", "data-state") == "done"
    seen = page.evaluate("window.seen")
    growing = sorted(set(v for v in seen if v > 0))
    assert len(growing) >= 5, seen                 # drawn in many steps, not at once
    assert page.locator("#ink-live path").count() > 2
    assert len(final_paths(page)) > 2
    assert "seed" in page.text_content("#status")


def test_picking_a_preset_changes_the_hand(page):
    page.fill("#seed", "3")
    page.click('#gallery .hand[data-style="0"]')
    write(page, "same words")
    first = final_paths(page)
    page.click('#gallery .hand[data-style="5"]')
    assert page.get_attribute('#gallery .hand[data-style="5"]', "aria-checked") == "true"
    write(page)
    assert final_paths(page) and final_paths(page) != first


def test_downloads_svg_and_pdf(page, tmp_path):
    write(page, "download me")
    for fmt, magic in (("svg", b"<svg"), ("pdf", b"%PDF")):
        with page.expect_download() as download:
            page.click(f'.downloads button[data-format="{fmt}"]')
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == f"handwriting.{fmt}"
        assert magic in saved.read_bytes()[:300]


def test_record_a_primer_and_write_with_it(page):
    requests = []
    page.on("request", lambda r: requests.append(r.post_data_json) if r.url.endswith("/api/write/stream") else None)
    draw_line(page)
    # the reader's reading fills in "What you wrote"
    page.wait_for_function("document.querySelector('#pad-text').value === 'the cat sat'")
    page.click("#pad-keep")
    page.wait_for_selector("#mine-lines .mine-line")
    assert page.locator("#mine-lines .mine-line").count() == 1
    draw_line(page, words=2)
    page.wait_for_function("document.querySelector('#pad-text').value === 'the cat sat'")
    page.fill("#pad-text", "on it")
    page.click("#pad-keep")            # the strokes read otherwise: a warning, nothing kept yet
    page.wait_for_function("document.querySelector('#pad-status').textContent.includes('read as')")
    assert page.locator("#mine-lines .mine-line").count() == 1
    page.click("#pad-keep")            # kept anyway, as the writer says
    page.wait_for_selector("#mine-lines .mine-line >> nth=1")
    page.click("#mine-use")
    page.wait_for_function("['done', 'error'].includes(document.querySelector('#paper').dataset.state)")
    assert page.get_attribute("#paper", "data-state") == "done", page.text_content("#error")
    assert page.get_attribute("#hand-mine", "aria-checked") == "true"
    primer = requests[-1]["primer"]
    assert [ln["text"] for ln in primer["lines"]] == ["the cat sat", "on it"]
    assert len(primer["lines"][0]["points"]) > 100
    page.reload()                                   # kept in the browser
    page.wait_for_selector("#mine-lines .mine-line >> nth=1")
    assert page.locator("#mine-lines .mine-line").count() == 2


def test_learn_my_hand_keeps_the_hand_in_the_browser_and_writes_with_it(page):
    requests = []
    page.on("request", lambda r: requests.append(r.post_data_json) if r.url.endswith("/api/write/stream") else None)
    assert page.is_disabled("#mine-learn")          # nothing recorded yet
    draw_line(page)
    page.wait_for_function("document.querySelector('#pad-text').value === 'the cat sat'")
    page.click("#pad-keep")
    page.wait_for_selector("#mine-lines .mine-line")
    page.click("#mine-learn")
    page.wait_for_function("document.querySelector('#pad-status').textContent.startsWith('Learned in')",
                           timeout=60_000)
    hand = page.evaluate("localStorage.getItem('handwrite.hand')")
    assert hand and len(hand) > 1000                 # a hand file, base64
    page.click("#mine-use")
    page.wait_for_function("['done', 'error'].includes(document.querySelector('#paper').dataset.state)")
    assert page.get_attribute("#paper", "data-state") == "done", page.text_content("#error")
    assert requests[-1].get("hand") == hand          # the learned hand goes with the request


def test_an_unsupported_character_is_named_next_to_the_text(page):
    started = time.monotonic()
    write(page, "na\u00efve \u20ac5")
    assert page.get_attribute("#paper", "data-state") == "error"
    error = page.text_content("#error")
    assert '"\u00ef" at position 2' in error and '"\u20ac" at position 6' in error
    assert time.monotonic() - started < 10


def test_words_the_check_could_not_get_right_are_named_in_the_status(browser):
    # the untrained network scribbles: the bundled reader reads none of its words as typed
    from conftest import make_tiny_model_parts

    from handwrite.reader import Reader
    from handwrite.server import background_server, create_app
    from handwrite.writer import Writer
    writer = Writer.from_model(*make_tiny_model_parts(), reader=Reader())
    with background_server(create_app(writer, reader=FixedReader())) as address, open_page(browser, address) as page:
        write(page, "hello there")
        assert page.get_attribute("#paper", "data-state") == "done"
        assert "may not read as typed: hello, there" in page.text_content("#status")
        assert not page.errors
