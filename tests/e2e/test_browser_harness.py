"""Smoke test for the headless-browser harness (not yet the real report).

Opens a self-contained HTML page with an inline base64 PNG in headless
Chromium and checks images decode, text renders and screenshots work.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_by_hand(width: int = 8, height: int = 8) -> bytes:
    """A tiny RGB PNG (red/blue checkerboard) built with zlib + struct."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: None
        for x in range(width):
            row += b"\xff\x00\x00" if (x + y) % 2 else b"\x00\x00\xff"
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    )


def _png_with_matplotlib() -> bytes | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return None
    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    try:
        ax.plot([0, 1, 2, 3], [0, 2, 1, 3])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()


def tiny_png() -> bytes:
    png = _png_with_matplotlib() or _png_by_hand()
    assert png.startswith(PNG_MAGIC)
    return png


def test_png_by_hand_is_valid():
    png = _png_by_hand()
    assert png.startswith(PNG_MAGIC)
    assert png.endswith(b"IEND\xaeB`\x82")


def test_headless_browser_renders_inline_png(browser, tmp_path: Path):
    b64 = base64.b64encode(tiny_png()).decode("ascii")
    page = tmp_path / "report.html"
    page.write_text(
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8"><title>harness</title></head><body>\n'
        "<h1>chaossim harness</h1>\n"
        f'<img id="chart" alt="chart" src="data:image/png;base64,{b64}">\n'
        '<div id="verdict">held</div>\n'
        "</body></html>\n",
        encoding="utf-8",
    )

    browser.get(page.resolve().as_uri())
    assert browser.title == "harness"

    images = browser.execute_script(
        "return Array.from(document.images).map("
        "  i => ({src: i.src.slice(0, 40), complete: i.complete, w: i.naturalWidth}));"
    )
    assert images, "page has no <img>"
    broken = [i for i in images if not (i["complete"] and i["w"] > 0)]
    assert not broken, f"images not decoded: {broken}"

    verdict = browser.execute_script(
        "const el = document.getElementById('verdict');return el ? el.textContent.trim() : null;"
    )
    assert verdict == "held"

    shot = tmp_path / "screenshot.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert len(data) > len(PNG_MAGIC)
    assert data.startswith(b"\x89PNG")
