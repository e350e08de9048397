"""docs/img/serve.png: the page of `handwrite serve`, by the browser tests' recipe.

    python docs/make_serve_screenshot.py [--weights W.safetensors] [--out docs/img/serve.png]

Serves the bundled model (or `--weights`) on 127.0.0.1, opens the page in Debian's
chromium with Playwright (tests/serve_browser.py), writes a text in a preset hand and
takes a screenshot of the page.  Needs the serve and browser extras and chromium.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from serve_browser import chromium, open_page, write  # noqa: E402

from handwrite import Writer  # noqa: E402
from handwrite.server import background_server, create_app  # noqa: E402

TEXT = "Dear Ada,\nthe page writes as you watch, in any hand you pick."


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "serve.png")
    parser.add_argument("--style", default="10", help="preset index to pick (10: cursive)")
    args = parser.parse_args()
    with background_server(create_app(Writer(args.weights))) as url, chromium() as browser:
        with open_page(browser, url, width=1100, height=1080) as page:
            page.click(f'#gallery .hand[data-style="{args.style}"]')
            page.fill("#seed", "7")
            write(page, TEXT)
            page.screenshot(path=str(args.out), full_page=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
