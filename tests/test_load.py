"""A bounded load test of the dashboard: 8 browser sessions at once, each
uploading two photographs and waiting for their colorized results, against the
shipped default model on localhost. Prints and writes its figures
(test-output/load.json)."""

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 8


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")), reason="needs Debian's chromium and chromium-driver")
def test_eight_sessions_upload_and_colorize_at_once(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photos = []
    for name in ("astronaut", "coffee"):
        path = tmp_path / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(path)
        photos.append(str(path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    results, errors = [], []

    def session(index):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / f'chrome{index}'}"):
            options.add_argument(flag)
        browser = None
        try:
            browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
            browser.get(f"http://127.0.0.1:{port}/")
            wait = WebDriverWait(browser, 240)
            upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type='file']"))
            started = time.time()
            upload.send_keys("\n".join(photos))
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").text.count("Colorized (") == len(photos))
            text = browser.find_element(By.TAG_NAME, "body").text
            if "Skipped" in text or "Error" in text:
                errors.append(f"session {index}: {text[:300]}")
            results.append({"seconds": time.time() - started, "colorize_ms": [int(ms) for ms in re.findall(r"Colorized \((\d+) ms\)", text)]})
        except Exception as error:  # Any failure of a session is a finding, not a crash of the test.
            errors.append(f"session {index}: {type(error).__name__}: {error}")
        finally:
            if browser is not None:
                browser.quit()

    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
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
