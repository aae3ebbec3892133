#!/usr/bin/python3
"""End-to-end test of the live dashboard in a real browser (Debian's chromium, driven by
chromedriver through Selenium), and of /metrics with a strict OpenMetrics parser.

    /usr/bin/python3 tests/browser/dashboard.py GAUNTLET_BINARY SCREENSHOT_DIR

Starts `gauntlet run tests/browser/scenario.toml --dashboard --listen 127.0.0.1:0 --pace 2x`
and checks, as a person watching would: the page loads with no console error, the live TPS
rises above zero, a failure banner appears during the scheduled failure, the pause button
pauses (TPS 0, state `paused`) and resume resumes, /metrics parses and agrees with /api/live,
the page fits a phone-width screen, and the stop button ends the run with exit 130 and both
actions in results.json. Screenshots are kept in SCREENSHOT_DIR. Exits 0 when all hold.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 60


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.headers.get("content-type"), r.read().decode()


def live(base):
    return json.loads(get(base, "/api/live")[1])


def start(binary, out):
    proc = subprocess.Popen(
        [binary, "run", os.path.join(HERE, "scenario.toml"), "--dashboard", "--listen",
         "127.0.0.1:0", "--pace", "2x", "--quiet", "--out", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    found = {}
    ready = threading.Event()

    def read():
        for line in proc.stderr:
            sys.stderr.write("gauntlet: " + line)
            m = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)/", line)
            if m and not ready.is_set():
                found["base"] = m.group(1)
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(TIMEOUT):
        proc.kill()
        fail("gauntlet never said where the dashboard is")
    return proc, found["base"]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,800"]:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="gauntlet-chromium-"))
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, what, condition):
    try:
        return WebDriverWait(driver, TIMEOUT, poll_frequency=0.1).until(lambda d: condition(d))
    except Exception:
        driver.save_screenshot(os.path.join(SHOTS, "failed.png"))
        fail(what + " never happened (screenshot failed.png)")


def text(driver, id_):
    return driver.find_element(By.ID, id_).text


def tps(driver):
    t = text(driver, "tps").replace(",", "")
    return int(t) if t.isdigit() else -1


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def check_metrics(base):
    ctype, body = get(base, "/metrics")
    if not ctype.startswith("application/openmetrics-text; version=1.0.0"):
        fail("/metrics content type: " + ctype)
    families = {f.name: f for f in text_string_to_metric_families(body)}
    for name, kind in [("gauntlet_transactions", "counter"), ("gauntlet_latency_seconds", "histogram"),
                       ("gauntlet_generator_lag_seconds", "histogram"), ("gauntlet_planned_rate", "gauge"),
                       ("gauntlet_active_failures", "gauge"), ("gauntlet_criterion", "stateset"),
                       ("gauntlet_degraded_share", "gauge"), ("gauntlet_fraud_caught", "counter")]:
        if name not in families or families[name].type != kind:
            fail(f"/metrics has no {kind} {name}")
    ok = [s.value for s in families["gauntlet_transactions"].samples
          if s.name == "gauntlet_transactions_total" and s.labels.get("outcome") == "ok"]
    return ok[0]


def main():
    global SHOTS
    if len(sys.argv) != 3:
        fail(__doc__)
    binary, SHOTS = sys.argv[1], sys.argv[2]
    os.makedirs(SHOTS, exist_ok=True)
    out = tempfile.mkdtemp(prefix="gauntlet-browser-")
    proc, base = start(binary, out)
    driver = browser()
    try:
        driver.get(base + "/")
        wait(driver, "the page showing the scenario", lambda d: text(d, "scenario") == "browser-e2e")
        wait(driver, "live TPS above zero", lambda d: tps(d) > 0)
        print(f"live TPS {tps(driver)}")
        wait(driver, "the failure banner", lambda d: d.find_element(By.ID, "failure-banner").is_displayed())
        banner = text(driver, "failure-banner")
        if "scorer-crash" not in banner:
            fail("the banner does not name the failure: " + banner)
        driver.save_screenshot(os.path.join(SHOTS, "dashboard-failure.png"))
        print("failure banner: " + banner)

        # The OpenMetrics text parses strictly and agrees with /api/live while running ...
        check_metrics(base)

        driver.find_element(By.ID, "btn-pause").click()
        wait(driver, "the paused state", lambda d: text(d, "state").lower() == "paused")
        wait(driver, "TPS 0 while paused", lambda d: tps(d) == 0)
        if live(base)["state"] != "paused":
            fail("/api/live does not say paused")
        # ... and exactly while paused, when nothing moves.
        ok_metrics = check_metrics(base)
        ok_live = live(base)["totals"]["ok"]
        if ok_metrics != ok_live:
            fail(f"/metrics ok {ok_metrics} != /api/live ok {ok_live}")
        print(f"paused: ok {ok_live} in both /metrics and /api/live")
        driver.save_screenshot(os.path.join(SHOTS, "dashboard-paused.png"))

        driver.find_element(By.ID, "btn-resume").click()
        wait(driver, "the running state again", lambda d: text(d, "state").lower() == "running")
        wait(driver, "TPS above zero again", lambda d: tps(d) > 0)
        print(f"resumed: TPS {tps(driver)}")

        # A phone-width screen: nothing wider than the window.
        driver.set_window_size(390, 844)
        time.sleep(0.3)  # let the layout settle after the resize (not synchronisation with gauntlet)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        inner = driver.execute_script("return window.innerWidth")
        if width > inner + 1:
            driver.save_screenshot(os.path.join(SHOTS, "failed.png"))
            wide = driver.execute_script("""return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
            fail(f"the page is {width}px wide on a {inner}px screen: {wide}")
        driver.save_screenshot(os.path.join(SHOTS, "dashboard-phone.png"))
        driver.set_window_size(1280, 800)

        errors = console_errors(driver)
        if errors:
            fail("console errors: " + json.dumps(errors))

        driver.execute_script("window.confirm = () => true;")
        driver.find_element(By.ID, "btn-stop").click()
        code = proc.wait(TIMEOUT)
        if code != 130:
            fail(f"a stop from the page should exit 130, not {code}")
        results = json.load(open(os.path.join(out, "results.json")))
        actions = [c["action"] for c in results["controls"]]
        if actions != ["pause", "resume", "stop"]:
            fail(f"results.json controls: {actions}")
        t = results["summary"]["totals"]
        if t["planned"] != t["ok"] + t["errors"] + t["timeouts"] + t["dropped"] + t["cancelled"] or t["lost"] != 0:
            fail(f"totals do not add up: {t}")
        print("stopped: exit 130, controls " + ", ".join(actions))
    finally:
        driver.quit()
        if proc.poll() is None:
            proc.kill()
    print("dashboard in chromium: ok")


if __name__ == "__main__":
    main()
