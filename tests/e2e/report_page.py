"""Helpers for driving a report page in the browser: Bokeh draws inside shadow roots, so look there too."""

from __future__ import annotations

from typing import Any

DEEP_ALL = """
function deepAll(root, sel, out) {
  root.querySelectorAll(sel).forEach(e => out.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) deepAll(e.shadowRoot, sel, out); });
  return out;
}
"""


def deep_rects(driver: Any, selector: str) -> list[dict[str, float]]:
    """Bounding boxes (viewport pixels) of every element matching ``selector``, shadow roots included."""
    return driver.execute_script(DEEP_ALL + """
        return deepAll(document, arguments[0], []).map(e => {
          const r = e.getBoundingClientRect();
          return {x: r.left, y: r.top, w: r.width, h: r.height,
                  visible: r.width > 0 && r.height > 0 && getComputedStyle(e).display !== 'none',
                  text: ((e.shadowRoot && e.shadowRoot.querySelector('.bk-tooltip-content')) || e).textContent};
        });""", selector)


def x_range(driver: Any, panel: str) -> tuple[float, float]:
    """The shared time axis' range, read from the Bokeh document (the model the figure draws)."""
    start, end = driver.execute_script(
        "const m = Bokeh.documents[0].get_model_by_name(arguments[0]); return [m.x_range.start, m.x_range.end];",
        panel)
    return float(start), float(end)


def network_urls(driver: Any) -> list[str]:
    """Every URL the page fetched or refers to for loading: resource timing entries, script / link / img sources."""
    return driver.execute_script(DEEP_ALL + """
        const urls = performance.getEntriesByType('resource').map(e => e.name);
        deepAll(document, 'script[src], link[href], img[src], iframe[src]', []).forEach(
          e => urls.push(e.getAttribute('src') || e.getAttribute('href')));
        return urls;""")


def frame_centre(driver: Any, index: int = 0) -> tuple[int, int]:
    """Viewport coordinates of the middle of the index-th Bokeh canvas, scrolled into view."""
    driver.execute_script(DEEP_ALL + """
        const c = deepAll(document, 'canvas', [])[arguments[0]]; c.scrollIntoView({block: 'center'});""", index)
    canvases = [r for r in deep_rects(driver, "canvas") if r["visible"]]
    r = canvases[index]
    return int(r["x"] + r["w"] / 2), int(r["y"] + r["h"] / 2)
