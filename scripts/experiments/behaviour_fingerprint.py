"""What every shipped run does, as hashes: record it before a refactor, compare after.

    python scripts/experiments/behaviour_fingerprint.py --output /tmp/before.json
    python scripts/experiments/behaviour_fingerprint.py --compare /tmp/before.json

Only the documented command lines and the SavedModels themselves are used (no
import of the package's modules), so the script reads the same before and after
modules move. Per run: the colorize command's PNG on three scikit-image photographs,
every SavedModel signature on a fixed image, and ``evaluate``'s CSV on 24 images of the
places test split (../shared; a hint run with 10 revealed points).
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ("astronaut", "coffee", "camera")


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def run(*args):
    result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def fixtures(folder):
    import skimage.data

    paths = []
    for name in PHOTOS:
        image = getattr(skimage.data, name)()
        path = folder / f"{name}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def pixels_of(array):
    """The bytes of an output; an encoded image's by its pixels (TF's PNG encoder is
    not byte-deterministic from call to call: the same pixels, other bytes)."""
    if array.dtype == object:
        return b"".join(np.asarray(Image.open(io.BytesIO(item))).tobytes() for item in array.ravel())
    return array.tobytes()


def signatures(run_dir, image):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    pixels = tf.constant(image)
    found = {}
    for name, function in sorted(loaded.signatures.items()):
        arguments = function.structured_input_signature[1]
        fixed = {
            "images": pixels[None],
            "images_bytes": tf.constant([(ROOT / "tmp-fixture.png").read_bytes()]),
            "points": tf.constant([[[40, 60], [120, 200]]], tf.int32),
            "colors": tf.constant([[[200, 30, 30], [30, 30, 200]]], tf.uint8),
            "at": tf.constant([[100, 100]], tf.int32),
            "render_size": tf.constant(96, tf.int32),
            "saturation": tf.constant(1.2, tf.float32),
            "temperature": tf.constant(0.8, tf.float32),
            "prior_weight": tf.constant(0.0, tf.float32),
        }
        feed = {key: fixed[key] for key in arguments}
        try:
            outputs = function(**feed)
        except Exception as error:  # A signature the fixed feed does not fit: record the fact.
            found[name] = f"error {type(error).__name__}"
            continue
        found[name] = digest(b"".join(pixels_of(outputs[key].numpy()) for key in sorted(outputs)))
    return found


def fingerprint():
    record = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        paths = fixtures(folder)
        Image.open(paths[0]).crop((0, 0, 256, 192)).save(ROOT / "tmp-fixture.png")
        try:
            image = np.asarray(Image.open(ROOT / "tmp-fixture.png").convert("RGB"))
            for run_dir in sorted(p.parent for p in (ROOT / "saved_models").glob("*/saved_model")):
                name = run_dir.name
                config = json.loads((run_dir / "config.json").read_text())
                hints = config.get("settings", {}).get("hints")
                out = folder / name
                entry = {}
                if not hints:
                    run("colorkeras.colorize", *map(str, paths), "--out", str(out), "--model", name)
                    entry["colorize"] = {p.name: digest(p.read_bytes()) for p in sorted(out.rglob("*.png"))}
                entry["signatures"] = signatures(run_dir, image)
                report = folder / f"{name}.json"
                extra = ["--hints", "10"] if hints else []
                run(
                    "colorkeras.evaluate",
                    "--model",
                    name,
                    "--data",
                    str(ROOT / "../shared/datasets/places"),
                    "--split",
                    "test",
                    "--limit",
                    "24",
                    "--output",
                    str(report),
                    *extra,
                )
                entry["evaluate"] = digest(report.with_suffix(".csv").read_bytes())
                record[name] = entry
                print(name, json.dumps(entry), flush=True)
        finally:
            (ROOT / "tmp-fixture.png").unlink(missing_ok=True)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="write the record here (JSON)")
    parser.add_argument("--compare", help="a record written before: print what differs, exit 1 if anything does")
    args = parser.parse_args()
    record = fingerprint()
    if args.output:
        Path(args.output).write_text(json.dumps(record, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        differences = [name for name in sorted(set(before) | set(record)) if before.get(name) != record.get(name)]
        for name in differences:
            print(f"DIFFERS {name}: before {before.get(name)}, now {record.get(name)}")
        print("identical" if not differences else f"{len(differences)} run(s) differ")
        raise SystemExit(1 if differences else 0)


if __name__ == "__main__":
    main()
