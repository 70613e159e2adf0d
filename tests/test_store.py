import numpy as np
import pytest

from colorkeras.core import store


def fake_run(root, name):
    """The two files that make a run complete (enough for the store's bookkeeping)."""
    (root / name / "saved_model").mkdir(parents=True)
    (root / name / "saved_model" / "saved_model.pb").write_bytes(b"x")
    (root / name / "config.json").write_text("{}")


def test_default_and_reference_runs(tmp_path):
    assert store.default_run_name(tmp_path) is None and store.reference_run_name(tmp_path) is None
    for name in ("cifar10-unet", "photos-unet"):
        fake_run(tmp_path, name)
    (tmp_path / ".half-written.partial").mkdir()
    assert store.list_runs(tmp_path) == ["cifar10-unet", "photos-unet"]
    # Without markers: the first run is both.
    assert store.default_run_name(tmp_path) == store.reference_run_name(tmp_path) == "cifar10-unet"
    (tmp_path / "DEFAULT").write_text("photos-unet\n")
    assert store.default_run_name(tmp_path) == store.reference_run_name(tmp_path) == "photos-unet"
    (tmp_path / "REFERENCE").write_text("cifar10-unet\n")
    assert (store.default_run_name(tmp_path), store.reference_run_name(tmp_path)) == ("photos-unet", "cifar10-unet")
    assert store.resolve_run(root=tmp_path) == tmp_path / "photos-unet"
    # A marker naming a missing run falls back instead of failing.
    (tmp_path / "DEFAULT").write_text("deleted-run\n")
    assert store.default_run_name(tmp_path) == "cifar10-unet"


@pytest.mark.parametrize("name", ["../x", "/abs", "a/b", "..", ".hidden", ""])
def test_run_names_cannot_escape_the_store(tmp_path, name):
    with pytest.raises(store.RunError, match="invalid run name"):
        store.run_path(name, tmp_path)


def test_overwrite_may_replace_runs_and_empty_folders_but_not_a_users_files(tmp_path):
    fake_run(tmp_path, "complete")
    store.check_replaceable(tmp_path / "complete")
    store.check_replaceable(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    store.check_replaceable(tmp_path / "empty")
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    (interrupted / store.STATE_FILE).write_text("{}")
    (interrupted / store.CHECKPOINT_FILE).write_bytes(b"x")
    store.check_replaceable(interrupted)
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.docx").write_text("years of work")
    with pytest.raises(store.RunError, match="not a colorkeras run"):
        store.check_replaceable(documents)


def test_publish_with_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.docx").write_text("years of work")
    partial = tmp_path / ".Documents.partial"
    fake_run(tmp_path, ".Documents.partial")
    with pytest.raises(store.RunError, match="not a colorkeras run"):
        store.publish(partial, documents, overwrite=True)
    assert (documents / "thesis.docx").read_text() == "years of work"


def test_json_is_written_strictly_and_a_damaged_file_is_an_error(tmp_path):
    import json
    import math

    path = tmp_path / "report.json"
    store.atomic_write_json(path, {"psnr": math.inf, "rows": [{"mse": math.nan, "n": 3}]})
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    assert json.loads(text, parse_constant=refuse) == {"psnr": None, "rows": [{"mse": None, "n": 3}]}
    path.write_text('{"settings": {"render_size": 64')
    with pytest.raises(store.RunError, match="report.json is damaged"):
        store.read_json(path)
    assert store.read_json(tmp_path / "absent.json", {"a": 1}) == {"a": 1}


def test_run_names_every_file_of_the_layout(tmp_path):
    run = store.Run(tmp_path / "my-run")
    assert run.name == "my-run" and run.partial.path == tmp_path / ".my-run.partial"
    assert {
        run.config.name,
        run.metrics.name,
        run.history.name,
        run.samples.name,
        run.keras_model.name,
        run.saved_model.name,
    } == {"config.json", "metrics.json", "history.csv", "samples.png", "model.keras", "saved_model"}
    assert not run.is_complete() and run.read_history() == [] and run.read_config("none") == "none"
    fake_run(tmp_path, "my-run")
    run.history.write_text("epoch,loss\n1,2.5\n")
    assert run.is_complete() and run.read_history() == [{"epoch": "1", "loss": "2.5"}]
    partial = store.Run(tmp_path / "next").partial
    fake_run(tmp_path, partial.name)
    for scratch in store.Run.SCRATCH:
        (partial / scratch).write_text("{}")
    published = partial.publish(tmp_path / "next")
    assert published.is_complete() and not any((published / scratch).exists() for scratch in store.Run.SCRATCH)


def test_check_writable_names_the_path_and_leaves_nothing_behind(tmp_path):
    store.check_writable(tmp_path / "new" / "report.json")  # Its folder is made; no file is left.
    assert [p.name for p in tmp_path.rglob("*")] == ["new"]
    (tmp_path / "a-file").write_text("mine")
    for bad, words in ((tmp_path, "it is a folder"), (tmp_path / "a-file" / "report.json", "cannot write")):
        with pytest.raises(store.RunError, match=words) as raised:
            store.check_writable(bad)
        assert str(bad) in str(raised.value)
    with pytest.raises(store.RunError, match="cannot write into"):
        store.check_writable(tmp_path / "a-file" / "out", folder=True)
    store.check_writable(tmp_path / "out" / "pngs", folder=True)  # A folder to write into is made; nothing else.
    assert (tmp_path / "out" / "pngs").is_dir() and not list((tmp_path / "out" / "pngs").iterdir())
    with pytest.raises(store.RunError, match="a-file already exists; choose another file or pass --overwrite"):
        store.check_writable(tmp_path / "a-file", overwrite=False)
    store.check_writable(tmp_path / "a-file")  # The caller was told to replace it.
    assert (tmp_path / "a-file").read_text() == "mine"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_written_through_a_temporary_name_follow_the_umask(tmp_path, umask, mode):
    import os

    from colorkeras.core.images import save_image

    previous = os.umask(umask)
    try:
        store.atomic_write_json(tmp_path / "config.json", {"a": 1})
        save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "out" / "photo.png")
    finally:
        os.umask(previous)
    for path in (tmp_path / "config.json", tmp_path / "out" / "photo.png"):
        assert path.stat().st_mode & 0o777 == mode, (path, oct(path.stat().st_mode))


def test_check_writable_without_create_makes_nothing(tmp_path):
    store.check_writable(tmp_path / "new" / "deeper", folder=True, create=False)
    assert not (tmp_path / "new").exists()
    (tmp_path / "a-file").write_text("mine")
    with pytest.raises(store.RunError, match="is not a folder"):
        store.check_writable(tmp_path / "a-file" / "out", folder=True, create=False)


def test_records_store_paths_portably_and_read_them_back_from_anywhere(tmp_path, monkeypatch):
    from pathlib import Path

    from colorkeras.core.config import TrainConfig

    beside = store.REPOSITORY.parent / "shared" / "datasets" / "photos"
    home = Path.home() / "scans" / "1920s"
    record = {
        "settings": {
            "architecture": "unet",
            "data": [str(beside), str(store.REPOSITORY / "tests")],
            "init_from": str(home / "w.weights.npz"),
        },
        "data_source": f"image folder {beside} + image folder {store.REPOSITORY / 'tests'}",
        "export_command": (
            f"python -m colorkeras.export --model={store.REPOSITORY / 'saved_models' / 'photos-unet'} --name x"
        ),
        "server": "http://localhost:8501/v1/models/colorizer",
        "elsewhere": "/data/scans",
    }
    run = store.Run(tmp_path / "run")
    run.path.mkdir()
    run.write_config(record)
    written = run.read_config()
    assert written["settings"]["data"] == ["../shared/datasets/photos", "tests"]
    assert written["settings"]["init_from"] == "~/scans/1920s/w.weights.npz"
    assert written["data_source"] == "image folder ../shared/datasets/photos + image folder tests"
    assert written["export_command"] == "python -m colorkeras.export --model=saved_models/photos-unet --name x"
    assert written["server"] == record["server"]  # A URL is not a path.
    assert written["elsewhere"] == "/data/scans"  # Outside the repository and home: as given.
    # Read back from another working folder, the repository's own folder is found again.
    monkeypatch.chdir(tmp_path)
    settings = TrainConfig.from_record(written["settings"])
    assert settings.data[1] == str(store.REPOSITORY / "tests")
    assert settings.init_from == str(home / "w.weights.npz")
    assert store.local_path("photos-unet") == "photos-unet"  # A run's name stays a name.
