import contextlib
import io
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorkeras.app import hints, reports, uploads
from colorkeras.core import store
from colorkeras.data import pipeline as data_lib
from colorkeras.serving.inference import Colorizer, ImageError
from colorkeras.training import jobs
from tests.conftest import free_port, headless_chrome, needs_browser, start_dashboard

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = (
    "app_pages/colorize.py",
    "app_pages/history.py",
    "app_pages/metrics.py",
    "app_pages/train.py",
    "app_pages/film.py",
)


@pytest.fixture()
def store_with_run(models_store, tiny_run):
    import streamlit as st

    shutil.copytree(tiny_run, models_store / "tiny-unet")
    (models_store / "DEFAULT").write_text("tiny-unet\n")
    st.cache_data.clear()  # Tables an earlier test of this process cached for another store.
    return models_store


@contextlib.contextmanager
def dashboard_in_chrome(tmp_path, window="1400,1000"):
    """The dashboard started as the README says, and a headless Chromium beside it;
    yields (browser, port) and closes both."""
    port = free_port()
    server = start_dashboard(ROOT, port)
    browser = None
    try:
        browser = headless_chrome(tmp_path / "chrome", f"--window-size={window}")
        yield browser, port
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=30)


def png_of(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(store_with_run, page):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if page != PAGES[0]:
        app.switch_page(page)
        app.run()
    assert not app.exception
    if page.endswith("colorize.py"):
        assert [box.label for box in app.selectbox] == ["Model", "Download as"]
        assert {slider.label for slider in app.slider} == {"Render size (short side, px)", "Saturation"}
        assert any("50 MB per file" in caption.value for caption in app.caption)
    elif page.endswith("history.py"):
        assert app.selectbox[0].value == "tiny-unet" and len(app.dataframe) == 1
    elif page.endswith("metrics.py"):
        assert len(app.dataframe) == 2  # The figures, and the runs' settings.
    elif page.endswith("film.py"):
        assert [box.label for box in app.selectbox] == ["Model"] and [s.label for s in app.slider] == ["Stability"]
        assert any("Up to 50 MB" in caption.value for caption in app.caption)
    else:
        assert [button.label for button in app.button] == ["Start training"]
        assert app.text_input(key="train_name").value.startswith("run-")
        assert any("One training at a time" in caption.value for caption in app.caption)


def test_colorize_page_function_colorizes_an_upload(store_with_run):
    colorizer = Colorizer("tiny-unet")
    result = uploads.colorize_upload(colorizer, "astronaut.png", png_of(data.astronaut()), saturation=1.2)
    assert result.colour.shape == data.astronaut().shape
    assert Image.open(io.BytesIO(result.encoded)).size == (512, 512) and result.format == "png"
    with pytest.raises(ImageError, match="notes.jpg: not an image we can read"):
        uploads.colorize_upload(colorizer, "notes.jpg", b"plain text")
    with pytest.raises(ImageError, match="empty.png: empty file"):
        uploads.colorize_upload(colorizer, "empty.png", b"")
    archive = zipfile.ZipFile(io.BytesIO(uploads.zip_results([result, result])))
    assert archive.namelist() == ["astronaut-colorized.png", "astronaut-colorized-2.png"]


def test_metrics_table_holds_runs_and_baselines(store_with_run, image_folder):
    store.atomic_write_json(
        store_with_run / reports.EVALUATION_REPORT,
        {
            "data": str(image_folder.resolve()),
            "rows": [{"name": "gray copy", "n": 3, "psnr": 22.2, "ssim": 0.95, "colorfulness": 0.0}],
        },
    )
    frame = reports.metrics_table()
    assert list(frame["run"]) == ["tiny-unet", "gray copy"]
    assert frame.loc[0, "architecture"] == "unet" and frame.loc[1, "psnr"] == 22.2


def add_photo_run(root, photos):
    """A second run, trained on other data (its config says so), made the default for colorizing."""
    import json

    shutil.copytree(root / "tiny-unet", root / "photo-run")
    config = json.loads((root / "photo-run" / "config.json").read_text())
    config["data_source"] = f"image folder {photos}"
    (root / "photo-run" / "config.json").write_text(json.dumps(config))
    (root / "DEFAULT").write_text("photo-run\n")
    (root / "REFERENCE").write_text("tiny-unet\n")


def test_pages_colorize_with_the_default_and_measure_against_the_reference(store_with_run, image_folder, tmp_path):
    from streamlit.testing.v1 import AppTest

    add_photo_run(store_with_run, tmp_path / "photos")
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    assert app.selectbox(key="colorize_model").value == "photo-run"
    assert any("Reference for training and metrics: **tiny-unet**" in caption.value for caption in app.sidebar.caption)
    app.switch_page(PAGES[1])
    app.run()
    assert app.selectbox(key="history_run").value == "tiny-unet"
    app.switch_page(PAGES[2])
    app.run()
    assert not app.exception
    assert [header.value for header in app.subheader] == [
        "At a glance",
        f"Reference: {image_folder.name}",
        "Trained on photos",
    ]
    assert len(app.dataframe) == 4


def test_metrics_are_grouped_by_training_data_reference_first(store_with_run, image_folder, tmp_path):
    add_photo_run(store_with_run, tmp_path / "photos")

    def row(name, psnr):
        return {"name": name, "n": 5, "psnr": psnr, "ssim": 0.9, "colorfulness": 1.0}

    store.atomic_write_json(
        store_with_run / "evaluation-photos.json",
        {
            "data": str(tmp_path / "photos"),
            "split": "test",
            "rows": [row("gray copy", 21.0), row("photo-run", 22.5), row("tiny-unet", 20.0)],
        },
    )
    store.atomic_write_json(
        store_with_run / "evaluation-skimage.json",
        {"data": "scikit-image sample photographs (astronaut)", "rows": [row("gray copy", 15.0)]},
    )
    folder_key = reports.data_key({"dataset": data_lib.describe(image_folder)})
    assert reports.data_sources() == [folder_key, str(tmp_path / "photos")]
    assert folder_key.startswith(f"{image_folder.name}:")
    assert list(reports.metrics_table()["run"]) == ["tiny-unet"]
    photos = reports.metrics_table(data_source=reports.data_sources()[1])
    # The report's full-resolution figures replace the run's own; the CIFAR run scored on photos sits beside.
    assert list(photos["run"]) == ["photo-run", "gray copy", "tiny-unet"] and photos.loc[0, "psnr"] == 22.5
    assert photos.loc[2, "architecture"] == "unet" and photos.loc[2, "psnr"] == 20.0
    assert [reports.data_label(source) for source in reports.data_sources()] == [image_folder.name, "photos"]
    assert reports.data_label(reports.data_key({"data_source": "cifar10 (keras.datasets download)"})) == "cifar10"
    ((title, frame),) = reports.other_reports()
    assert title == "scikit-image's colour photographs at full size" and list(frame["run"]) == ["gray copy"]


@pytest.mark.slow
def test_training_job_runs_in_background_one_at_a_time(models_store, image_folder, monkeypatch):
    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, str(image_folder.parent))
    settings = dict(
        data=str(image_folder), architecture="plain-cnn", epochs=1, batch_size=8, image_size=16, name="from-dashboard"
    )
    job = jobs.start_job(settings)
    assert job["status"] == "running"
    with pytest.raises(jobs.JobError, match="already running"):
        jobs.start_job(dict(settings, name="second"))
    deadline = time.time() + 240
    while jobs.read_job()["status"] == "running" and time.time() < deadline:
        assert jobs.job_progress(jobs.read_job())["epochs"] == 1
        time.sleep(1)
    assert jobs.read_job()["status"] == "finished", jobs.log_tail(jobs.read_job())
    assert "from-dashboard" in store.list_runs()
    with pytest.raises(jobs.JobError, match="already exists"):
        jobs.start_job(settings)
    with pytest.raises(store.RunError, match="invalid run name"):
        jobs.start_job(dict(settings, name="../escape"))


@pytest.mark.slow
def test_cancel_interrupts_and_resume_finishes_the_run(models_store, image_folder, monkeypatch):
    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, str(image_folder.parent))
    settings = dict(data=str(image_folder), architecture="unet", epochs=50, batch_size=2, image_size=16, name="long")
    jobs.start_job(settings)
    partial = store.partial_path(models_store / "long")
    deadline = time.time() + 120
    # Once an epoch is checkpointed there is something to resume.
    while not (partial / "state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    jobs.cancel_job()
    while jobs.read_job()["status"] == "running" and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.read_job()["status"] == "cancelled"
    assert partial.is_dir() and not (models_store / "long").exists()
    assert "--resume" in jobs.log_tail(jobs.read_job())
    assert jobs.resumable(jobs.read_job())
    # Resume continues the same run from its checkpoint, with fewer epochs left to go quickly.
    record = store.read_json(partial / "config.json")
    record["settings"]["epochs"] = store.read_json(partial / "state.json")["completed_epochs"] + 1
    store.atomic_write_json(partial / "config.json", record)
    assert jobs.resume_job()["status"] == "running"
    deadline = time.time() + 240
    while jobs.read_job()["status"] == "running" and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.read_job()["status"] == "finished", jobs.log_tail(jobs.read_job())
    assert "Resuming after epoch" in jobs.log_tail(jobs.read_job(), lines=200)


@pytest.mark.slow
@needs_browser
def test_browser_uploads_a_photo_and_sees_it_colorized(store_with_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photo = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    with dashboard_in_chrome(tmp_path, "1400,1000") as (browser, port):
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 120)
        upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type='file']"))
        upload.send_keys(str(photo))
        wait.until(lambda b: "Colorized (" in b.find_element(By.TAG_NAME, "body").text)
        images = browser.find_elements(
            By.CSS_SELECTOR, "[data-testid='stImage'] img, [data-testid='stImageContainer'] img, img"
        )
        assert len(images) >= 2
        assert "Download PNG" in browser.find_element(By.TAG_NAME, "body").text
        output = ROOT / "test-output"
        output.mkdir(exist_ok=True)
        browser.save_screenshot(str(output / "dashboard-colorize.png"))
        # The page answers by its name too.
        browser.get(f"http://127.0.0.1:{port}/colorize")
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "input[type='file']"))
        assert "Page not found" not in browser.find_element(By.TAG_NAME, "body").text


@pytest.mark.slow
@needs_browser
def test_browser_metrics_page_leads_with_charts(store_with_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def row(name, psnr, **extra):
        return {"name": name, "n": 5, "psnr": psnr, "ssim": 0.9, "colorfulness": 20.0, **extra}

    store.atomic_write_json(
        store_with_run / "evaluation-hints-photos.json",
        {
            "data": str(tmp_path / "photos"),
            "split": "test",
            "rows": [
                row("gray copy", 21.0),
                row("tiny-unet (0 hints)", 22.0, hints=0),
                row("tiny-unet (10 hints)", 25.5, hints=10),
            ],
        },
    )
    store.atomic_write_json(
        store_with_run / "evaluation-film-clip.json",
        {
            "data": str(tmp_path / "clip.mp4"),
            "split": "film",
            "rows": [
                row("gray copy", 15.0, warping_error=0.01),
                row("tiny-unet stabilised 0.95", 17.1, warping_error=0.011),
            ],
        },
    )
    with dashboard_in_chrome(tmp_path, "1400,1200") as (browser, port):
        browser.get(f"http://127.0.0.1:{port}/metrics")
        wait = WebDriverWait(browser, 120)
        wait.until(lambda b: "At a glance" in b.find_element(By.TAG_NAME, "body").text)
        # Vega-Lite draws each chart into a canvas (or an SVG) inside its container.
        charts = wait.until(
            lambda b: (
                [
                    chart
                    for chart in b.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")
                    if chart.find_elements(By.CSS_SELECTOR, "canvas, svg")
                ]
                if len(
                    b.find_elements(
                        By.CSS_SELECTOR, "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
                    )
                )
                >= 3
                else False
            )
        )
        assert len(charts) >= 3
        output = ROOT / "test-output"
        output.mkdir(exist_ok=True)
        browser.save_screenshot(str(output / "dashboard-metrics.png"))


def listening_addresses(port):
    """The local addresses (hex, as /proc/net/tcp writes them) that listen on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@pytest.mark.slow
def test_dashboard_started_as_the_readme_says_listens_on_localhost_only(store_with_run):
    import urllib.request

    port = free_port()
    server = start_dashboard(ROOT, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=30) as response:
            assert response.status == 200
        addresses = listening_addresses(port)
        # 127.0.0.1 is 0100007F in /proc/net/tcp; every interface would be 00000000.
        assert addresses and set(addresses) == {"0100007F"}, addresses
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_cached_colorizer_is_reloaded_when_its_run_is_replaced(store_with_run, tiny_run):
    import sys

    sys.path.insert(0, str(ROOT / "dashboard"))
    try:
        import common
    finally:
        sys.path.remove(str(ROOT / "dashboard"))
    first = common.load_colorizer("tiny-unet")
    assert common.load_colorizer("tiny-unet") is first
    # What `export --overwrite` does: a new folder renamed into place.
    replacement = store_with_run / ".tiny-unet.partial"
    shutil.copytree(tiny_run, replacement)
    store.publish(replacement, store_with_run / "tiny-unet", overwrite=True)
    assert common.load_colorizer("tiny-unet") is not first


def test_only_the_results_on_show_are_kept():
    shown = [object(), object()]
    cache = {("a", 1.0): shown[0], ("a", 1.1): object(), ("a", 1.2): object(), ("b", 1.0): shown[1]}
    assert uploads.keep_current(cache, shown) == {("a", 1.0): shown[0], ("b", 1.0): shown[1]}


def test_train_page_refuses_data_outside_the_allowed_folders(store_with_run, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, str(tmp_path / "allowed"))
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("app_pages/train.py")
    app.run()
    app.text_input(key="train_data").input("/etc")
    app.button[0].click()
    app.run()
    assert not app.exception
    assert any("/etc is outside the folders this server trains from" in error.value for error in app.error)
    assert jobs.read_job() is None


def test_one_data_set_is_one_group_whatever_its_path(tmp_path):
    """Two copies of a folder (two machines' paths) describe alike; another folder differs."""
    from tests.conftest import write_crops

    first = write_crops(tmp_path / "a" / "photos", 6)
    second = write_crops(tmp_path / "b" / "photos", 6)
    other = write_crops(tmp_path / "c" / "photos", 7)
    keys = [reports.data_key({"dataset": data_lib.describe(folder, "test")}) for folder in (first, second, other)]
    assert keys[0] == keys[1] != keys[2]
    assert reports.data_key({"data_source": f"image folder {first}"}) == keys[0]
    several = data_lib.describe([str(first), str(other)])
    assert several["kind"] == "several" and several["name"] == "photos + photos" and len(several["parts"]) == 2


def test_every_metrics_table_has_the_same_columns_and_no_paths(store_with_run, image_folder, tmp_path):
    add_photo_run(store_with_run, tmp_path / "photos")

    def row(name, psnr):
        return {"name": name, "n": 5, "psnr": psnr, "ssim": 0.9, "colorfulness": 1.0}

    store.atomic_write_json(
        store_with_run / "evaluation-skimage.json",
        {"data": "scikit-image sample photographs (astronaut)", "rows": [row("gray copy", 15.0)]},
    )
    tables = [reports.metrics_table(data_source=source) for source in reports.data_sources()]
    tables += [frame for _, frame in reports.other_reports()]
    assert len(tables) == 3
    for frame in tables:
        assert list(frame.columns) == list(reports.TABLE_COLUMNS)
        assert not frame.astype(str).apply(lambda column: column.str.contains(str(tmp_path))).any().any()


def test_displayed_figures_have_no_empty_cells_and_settings_are_apart(store_with_run, image_folder):
    def row(name, psnr):
        return {
            "name": name,
            "n": 5,
            "psnr": psnr,
            "ssim": 0.9,
            "colorfulness": 1.0,
            "auc": 0.9,
            "mse": 10.0,
            "colorfulness_gap": -1.0,
        }

    truth = {"name": "ground truth", "n": 5, "psnr": None, "ssim": 1.0, "colorfulness": 33.0, "colorfulness_gap": 0.0}
    store.atomic_write_json(
        store_with_run / reports.EVALUATION_REPORT, {"data": str(image_folder), "rows": [row("gray copy", 21.0), truth]}
    )
    figures, truth_colorfulness, settings = reports.display_tables(reports.metrics_table())
    assert list(figures["run"]) == ["tiny-unet", "gray copy"] and not figures.isna().any().any()
    assert truth_colorfulness == 33.0
    assert (
        list(settings["run"]) == ["tiny-unet"]
        and "None" not in settings.to_string()
        and "nan" not in settings.to_string()
    )


def test_hint_helpers_rescale_clicks_and_round_trip_files():
    # A 400 px wide image shown 200 px wide: a click at (50, 30) is pixel (100, 60).
    assert hints.click_to_pixel({"x": 50, "y": 30, "width": 200, "height": 150}, 400, 300) == (100, 60)
    assert hints.click_to_pixel({"x": 250, "y": 30, "width": 200, "height": 150}, 400, 300) == (399, 60)
    points = [{"x": 3, "y": 4, "color": "#ff0000", "radius": None}]
    assert hints.read_hints_upload("h.json", hints.hints_json(points), 10, 10) == points
    with pytest.raises(ValueError, match="h.json: not valid JSON"):
        hints.read_hints_upload("h.json", b"[{", 10, 10)
    with pytest.raises(ValueError, match="outside the 3x3 image"):
        hints.read_hints_upload("h.json", hints.hints_json(points), 3, 3)
    table = hints.hint_table(points)
    table.loc[0, "color"] = "#00ff00"
    assert hints.points_from_table(table, 10, 10)[0]["color"] == "#00ff00"
    marked = hints.mark_points(np.zeros((20, 20, 3), np.uint8), points, size=1)
    assert tuple(marked[4, 3]) == (255, 0, 0) and tuple(marked[0, 0]) == (0, 0, 0)


@pytest.mark.slow
@needs_browser
def test_browser_clicks_a_hint_picks_a_suggestion_and_the_result_changes(models_store, tiny_hint_run, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shutil.copytree(tiny_hint_run, models_store / "tiny-hints")
    (models_store / "DEFAULT").write_text("tiny-hints\n")
    photo = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()[:200, :300]).save(photo)
    with dashboard_in_chrome(tmp_path, "1400,1200") as (browser, port):
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 120)

        def body(b):
            return b.find_element(By.TAG_NAME, "body").text

        upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type='file']"))
        upload.send_keys(str(photo))
        wait.until(lambda b: "Colorized (" in body(b))
        toggle = wait.until(lambda b: b.find_element(By.XPATH, "//*[contains(text(), 'Hint mode')]"))
        toggle.click()
        frame = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "iframe[title*='streamlit_image_coordinates']"))
        browser.switch_to.frame(frame)
        picture = wait.until(lambda b: b.find_element(By.TAG_NAME, "img"))
        wait.until(lambda b: picture.size["width"] > 50)
        before = picture.get_attribute("src")
        ActionChains(browser).move_to_element_with_offset(
            picture, picture.size["width"] // 4, -picture.size["height"] // 4
        ).click().perform()
        browser.switch_to.default_content()
        wait.until(lambda b: "the model's most likely colours there" in body(b))
        # Streamlit streams the page: the buttons may arrive after the line above them.
        suggestion = wait.until(
            lambda b: b.find_element(By.XPATH, "//button[.//p[starts-with(normalize-space(.), '#')]]")
        )
        suggestion.click()
        wait.until(lambda b: "with 1 hint(s)" in body(b))
        assert "the model's most likely colours there" not in body(browser)

        def changed(b):
            b.switch_to.default_content()
            b.switch_to.frame(b.find_element(By.CSS_SELECTOR, "iframe[title*='streamlit_image_coordinates']"))
            try:
                return b.find_element(By.TAG_NAME, "img").get_attribute("src") != before
            finally:
                b.switch_to.default_content()

        wait.until(changed)
        output = ROOT / "test-output"
        output.mkdir(exist_ok=True)
        browser.save_screenshot(str(output / "dashboard-hints.png"))


@pytest.mark.slow
def test_film_upload_is_colorized_with_its_frames_and_sound_and_bad_ones_are_named(tiny_run, tmp_path):
    from colorkeras.data import film_clips
    from colorkeras.video import pipeline

    clip = tmp_path / "reel.mp4"
    film_clips.make_clip(clip, 96, 64, frames_per_shot=10)
    seen = []
    video, summary = uploads.colorize_film_upload(
        Colorizer(tiny_run), "reel.mp4", clip.read_bytes(), 0.85, lambda done, total, seconds: seen.append(done)
    )
    assert summary["frames"] == 20 and summary["audio"] and seen and seen[-1] == 20
    out = tmp_path / "out.mp4"
    out.write_bytes(video)
    assert pipeline.film_info(out)["frames"] == 20 and pipeline.film_info(out)["audio"] == "aac"
    with pytest.raises(pipeline.FilmError, match="notes.mp4: not a film we can read"):
        uploads.colorize_film_upload(Colorizer(tiny_run), "notes.mp4", b"plain text", 0.85)


@pytest.mark.slow
@needs_browser
def test_browser_colorizes_a_film_and_offers_it_to_play_and_download(store_with_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from colorkeras.data import film_clips

    clip = tmp_path / "reel.mp4"
    film_clips.make_clip(clip, 96, 64, frames_per_shot=12)
    with dashboard_in_chrome(tmp_path, "1400,1000") as (browser, port):
        browser.get(f"http://127.0.0.1:{port}/film")
        wait = WebDriverWait(browser, 120)
        upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type='file']"))
        upload.send_keys(str(clip))
        button = wait.until(lambda b: b.find_element(By.XPATH, "//button[.//p[text()='Colorize the film']]"))
        button.click()
        wait.until(lambda b: "Download MP4" in b.find_element(By.TAG_NAME, "body").text)
        assert "24 frames in" in browser.find_element(By.TAG_NAME, "body").text
        assert browser.find_elements(By.TAG_NAME, "video")


def test_metrics_page_shows_hint_sweeps_films_and_archive_inputs_in_tables_of_their_own(store_with_run, tmp_path):
    from streamlit.testing.v1 import AppTest

    def row(name, psnr, **extra):
        return {"name": name, "n": 5, "psnr": psnr, "ssim": 0.9, "colorfulness": 20.0, **extra}

    store.atomic_write_json(
        store_with_run / "evaluation-hints-photos.json",
        {
            "data": str(tmp_path / "photos"),
            "split": "test",
            "rows": [
                row("gray copy", 21.0),
                row("tiny-unet (0 hints)", 22.0, hints=0),
                row("tiny-unet (10 hints)", 25.5, hints=10),
            ],
        },
    )
    store.atomic_write_json(
        store_with_run / "evaluation-film-clip.json",
        {
            "data": str(tmp_path / "clip.mp4"),
            "split": "film",
            "rows": [
                row("gray copy", 15.0, warping_error=0.01),
                row("tiny-unet per frame", 17.0, warping_error=0.02),
                row("tiny-unet stabilised 0.85", 17.1, warping_error=0.011),
                {"name": "ground truth", "psnr": float("inf")},
            ],
        },
    )
    store.atomic_write_json(
        store_with_run / "evaluation-archive-photos.json",
        {
            "data": str(tmp_path / "photos"),
            "split": "validation",
            "degrade": True,
            "rows": [row("gray copy", 19.5), row("tiny-unet", 20.5)],
        },
    )
    ((title, archive),) = reports.archive_reports()
    assert title.startswith("Archive-like inputs: photos") and list(archive["psnr"]) == [19.5, 20.5]
    assert "evaluation-archive-photos.json" not in reports.reports()  # Its figures never mix with clean ones.
    ((title, sweep),) = reports.hint_sweeps()
    assert title.startswith("Hints: photos") and list(sweep["hints"]) == [0, 10] and list(sweep["psnr"]) == [22.0, 25.5]
    ((title, films),) = reports.film_reports()
    assert title == "Film: clip.mp4" and list(films["warping_error"]) == [0.01, 0.02, 0.011]
    assert "evaluation-hints-photos.json" not in reports.reports()  # Not an image-set report of its own.
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(PAGES[2])
    app.run()
    assert not app.exception
    assert {
        "Hints: photos: test split, 5 images at full resolution",
        "Film: clip.mp4",
        "Archive-like inputs: photos: validation split, 5 images at full resolution",
    } <= {header.value for header in app.subheader}
    # Charts lead the page: the runs' PSNR against colourfulness, the hint curve, the film's steadiness.
    assert app.subheader[0].value == "At a glance"
    charts = app.get("vega_lite_chart")
    assert len(charts) >= 3, [chart.proto.spec[:80] for chart in charts]
    specs = " ".join(chart.proto.spec for chart in charts)
    assert (
        "hint points per image" in specs
        and "warping error x 1000" in specs
        and "colourfulness (more is more vivid)" in specs
    )


def test_rows_of_different_image_counts_are_not_ranked_together():
    import pandas as pd

    assert reports.ranked_together(pd.DataFrame({"run": ["a", "b"], "n": [400, 400]}))
    assert not reports.ranked_together(pd.DataFrame({"run": ["a", "b"], "n": [200, 10000]}))
