"""A bounded load test of the dashboard: 8 browser sessions at once, each
uploading two photographs and waiting for their colorized results, against the
shipped default model on localhost. Prints and writes its figures
(test-output/load.json)."""

import json
import re
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from tests.conftest import free_port, headless_chrome, needs_browser, start_dashboard

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 8


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@pytest.mark.slow
@needs_browser
def test_eight_sessions_upload_and_colorize_at_once(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photos = []
    for name in ("astronaut", "coffee"):
        path = tmp_path / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(path)
        photos.append(str(path))
    port = free_port()
    server = start_dashboard(ROOT, port)
    results, errors = [], []

    def session(index):
        browser = None
        try:
            browser = headless_chrome(tmp_path / f"chrome{index}", "--disable-dev-shm-usage")
            browser.get(f"http://127.0.0.1:{port}/")
            wait = WebDriverWait(browser, 240)
            upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type='file']"))
            started = time.time()
            upload.send_keys("\n".join(photos))
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").text.count("Colorized (") == len(photos))
            text = browser.find_element(By.TAG_NAME, "body").text
            if "Skipped" in text or "Error" in text:
                errors.append(f"session {index}: {text[:300]}")
            results.append(
                {
                    "seconds": time.time() - started,
                    "colorize_ms": [int(ms) for ms in re.findall(r"Colorized \((\d+) ms\)", text)],
                }
            )
        except Exception as error:  # Any failure of a session is a finding, not a crash of the test.
            errors.append(f"session {index}: {type(error).__name__}: {error}")
        finally:
            if browser is not None:
                browser.quit()

    try:
        started = time.time()
        threads = [threading.Thread(target=session, args=(index,)) for index in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        wall = time.time() - started
        memory = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    colorize_ms = sorted(ms for result in results for ms in result["colorize_ms"])
    figures = {
        "sessions": SESSIONS,
        "uploads": SESSIONS * len(photos),
        "completed_sessions": len(results),
        "errors": errors,
        "wall_seconds": round(wall, 1),
        "session_seconds_max": round(max((r["seconds"] for r in results), default=float("nan")), 1),
        "colorize_ms_median": colorize_ms[len(colorize_ms) // 2] if colorize_ms else None,
        "colorize_ms_max": colorize_ms[-1] if colorize_ms else None,
        "server_peak_rss_mb": round(memory),
    }
    output = ROOT / "test-output"
    output.mkdir(exist_ok=True)
    (output / "load.json").write_text(json.dumps(figures, indent=2))
    print("\n" + json.dumps(figures, indent=2))
    assert not errors and len(results) == SESSIONS
    assert memory < 6000  # Bounded: one shared model, not one per session.
