#!/usr/bin/python3
"""The HTML report's component-health chart in a real browser (Debian's chromium, driven by
chromedriver through Selenium).

    /usr/bin/python3 tests/browser/report.py REPORT_HTML SCREENSHOT_DIR

REPORT_HTML is the report of `scenarios/cascade.toml`. Checks, as a person reading it would:
the chart is drawn with one line per component, each in its own colour, and the failure
windows shaded; inside the `features-slow` window the gateway's line lies in the lower half
(the slow feature store spread to it), outside both windows and their 30 s after it stays at
the top; the spread is written under the chart. Keeps a screenshot of the chart in
SCREENSHOT_DIR. Exits 0 when all hold.
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

COMPONENTS = ["gateway", "feature-store", "ml-scorer", "rules-engine", "decision"]

# Each polyline's points in page pixels, and each shaded window's box.
GEOMETRY = """
const fig = document.getElementById('component-health').nextElementSibling.nextElementSibling;
const svg = fig.querySelector('svg');
const ctm = svg.getScreenCTM();
const lines = {};
for (const p of svg.querySelectorAll('polyline')) {
  const name = [...p.classList].find(c => c.startsWith('c-')).slice(2);
  const pts = [];
  for (let i = 0; i < p.points.numberOfItems; i++) {
    const q = p.points.getItem(i).matrixTransform(ctm);
    pts.push([q.x, q.y]);
  }
  lines[name] = {points: pts, stroke: getComputedStyle(p).stroke};
}
const bands = {};
for (const r of svg.querySelectorAll('rect.band')) {
  const b = r.getBoundingClientRect();
  bands[r.querySelector('title').textContent] =
    {left: b.left, right: b.right, top: b.top, bottom: b.bottom,
     fill: getComputedStyle(r).fill};
}
return {lines: lines, bands: bands};
"""


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    report, shots = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get("file://" + report)
        heading = driver.find_element(By.ID, "component-health")
        driver.execute_script("arguments[0].scrollIntoView()", heading)
        g = driver.execute_script(GEOMETRY)
        lines, bands = g["lines"], g["bands"]
        if sorted(lines) != sorted(COMPONENTS):
            fail(f"lines {sorted(lines)}, expected one per component")
        strokes = {name: line["stroke"] for name, line in lines.items()}
        if len(set(strokes.values())) != len(COMPONENTS):
            fail(f"components share a colour: {strokes}")
        if sorted(bands) != ["features-slow", "rules-slow"]:
            fail(f"shaded windows {sorted(bands)}")
        severe = bands["features-slow"]
        top, bottom = severe["top"], severe["bottom"]
        middle = (top + bottom) / 2
        gateway = lines["gateway"]["points"]
        inside = [y for x, y in gateway if severe["left"] + 2 < x < severe["right"] - 2]
        if not inside:
            fail("no gateway points inside the features-slow window")
        low = sum(1 for y in inside if y > middle)
        if low < len(inside) * 0.8:
            fail(f"the gateway's line is low in {low} of {len(inside)} seconds of the window")
        # Before the first window the gateway is healthy: its line at the top.
        first = min(b["left"] for b in bands.values())
        before = [y for x, y in gateway if x < first - 2]
        if not before or max(before) > top + (bottom - top) * 0.1:
            fail(f"the gateway is not at full health before the failures: {before[:5]}")
        spread = driver.find_elements(By.CSS_SELECTOR, "p.spread")
        text = " ".join(p.text for p in spread)
        if "features-slow" not in text or "gateway +0s" not in text:
            fail(f"the spread is not written under the chart: {text!r}")
        if "stayed in rules-engine" not in text:
            fail(f"the mild failure is not said to stay put: {text!r}")
        figure = heading.find_element(By.XPATH, "following-sibling::div[@class='charts']")
        figure.screenshot(os.path.join(shots, "report-component-health.png"))
        print(f"gateway low in {low} of {len(inside)} seconds of features-slow; "
              f"colours {strokes}")
        print("report in chromium: ok")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
