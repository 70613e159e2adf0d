import pytest

from colorkeras import store


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
