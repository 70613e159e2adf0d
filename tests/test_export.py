import json

import numpy as np
import pytest
from skimage import data

from colorkeras import export
from colorkeras.core import store
from colorkeras.serving.inference import Colorizer
from tests.conftest import run_cli


@pytest.mark.slow
def test_reexport_with_other_defaults_writes_a_new_run_and_keeps_the_source(tiny_run, image_folder, tmp_path):
    before = {path.name: path.stat().st_mtime for path in tiny_run.iterdir()}
    target = tmp_path / "vivid"
    code = export.main(
        [
            "--model",
            str(tiny_run),
            "--run-dir",
            str(target),
            "--data",
            str(image_folder),
            "--prior-weight",
            "0.5",
            "--temperature",
            "0.7",
            "--saturation",
            "1.3",
        ]
    )
    assert code == 0 and store.is_complete(target)
    assert {path.name: path.stat().st_mtime for path in tiny_run.iterdir()} == before
    record = json.loads((target / "config.json").read_text())
    assert record["settings"]["prior_weight"] == 0.5 and record["settings"]["saturation"] == 1.3
    assert len(record["bin_prior"]) > 200 and abs(sum(record["bin_prior"]) - 1) < 1e-6
    assert record["exported_from"] == store.portable_path(tiny_run)  # As records store paths.
    assert (target / "history.csv").read_text() == (tiny_run / "history.csv").read_text()
    photo = data.coffee()
    plain, vivid = Colorizer(tiny_run).colorize(photo), Colorizer(target).colorize(photo)
    assert plain.shape == vivid.shape and not np.array_equal(plain, vivid)


def test_reexport_refuses_to_replace_a_run(tiny_run, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    result = run_cli("colorkeras.export", "--model", tiny_run, "--run-dir", target)
    assert result.returncode == 2 and "already exists" in result.stderr and "Traceback" not in result.stderr
    assert list(target.iterdir()) == []


def test_reexport_with_overwrite_refuses_a_folder_that_is_not_a_run(tiny_run, tmp_path):
    target = tmp_path / "Documents"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run_cli("colorkeras.export", "--model", tiny_run, "--run-dir", target, "--overwrite")
    assert result.returncode == 2 and "not a colorkeras run" in result.stderr and "Traceback" not in result.stderr
    assert [path.name for path in target.iterdir()] == ["notes.txt"] and (target / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_prior_weight_is_an_option_of_the_colorize_signature(tiny_run, image_folder, tmp_path):
    target = tmp_path / "with-prior"
    assert export.main(["--model", str(tiny_run), "--run-dir", str(target), "--data", str(image_folder)]) == 0
    photo = data.coffee()
    default = Colorizer(target).colorize(photo)
    assert np.array_equal(default, Colorizer(target, prior_weight=0.0).colorize(photo))
    assert not np.array_equal(default, Colorizer(target, prior_weight=0.8).colorize(photo))
    import shutil

    older = tmp_path / "older"
    shutil.copytree(tiny_run, older)
    record = json.loads((older / "config.json").read_text())
    del record["bin_prior"]
    (older / "config.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="no colour prior"):
        Colorizer(older, prior_weight=0.5)


def test_a_hint_runs_savedmodel_holds_its_network_once_not_once_per_signature(tiny_hint_run):
    # Every signature calls one traced function of the network. Traced inside each
    # signature and each tf.cond branch, a hint run of the MobileNetV2 U-Net wrote
    # its 150 layers about ten times (an 11.8 MB saved_model.pb; 5.7 MB now).
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((store.Run(tiny_hint_run).saved_model / "saved_model.pb").read_bytes())
    library = proto.meta_graphs[0].graph_def.library.function
    with_convolutions = [
        function.signature.name for function in library if any(node.op == "Conv2D" for node in function.node_def)
    ]
    # The network's traced function, and the Keras model's own saved call functions.
    assert 1 <= len(with_convolutions) <= 3, with_convolutions
