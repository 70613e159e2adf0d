"""The dashboard's hints: clicks to pixels, points drawn on the photograph, their table and JSON file,
and the runs that take them."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from colorkeras.core import store
from colorkeras.core.hints import HintError, parse_hints


def click_to_pixel(click, image_width, image_height):
    """A click of streamlit-image-coordinates (``x``, ``y`` in displayed pixels, with
    the displayed ``width`` and ``height``) -> (x, y) in the image's own pixels."""
    shown_width = click.get("width") or image_width
    shown_height = click.get("height") or image_height
    x = int(click["x"] * image_width / shown_width)
    y = int(click["y"] * image_height / shown_height)
    return min(max(x, 0), image_width - 1), min(max(y, 0), image_height - 1)


def hint_runs():
    """The complete runs whose network takes hints (their config says so)."""
    names = []
    for name in store.list_runs():
        record = store.Run(store.resolve_run(name)).read_config({}) or {}
        if (record.get("settings") or {}).get("hints"):
            names.append(name)
    return names


def hints_name(upload_name):
    return f"{Path(upload_name).stem}-hints.json"


def mark_points(image, points, size=None):
    """A copy of ``image`` with each hint point drawn as a small square in its colour,
    ringed in black and white so that it shows on any background."""

    canvas = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    draw = ImageDraw.Draw(canvas)
    half = size or max(3, min(canvas.size) // 80)
    for point in points:
        x, y = point["x"], point["y"]
        draw.rectangle([x - half - 2, y - half - 2, x + half + 2, y + half + 2], outline=(0, 0, 0))
        draw.rectangle([x - half - 1, y - half - 1, x + half + 1, y + half + 1], outline=(255, 255, 255))
        draw.rectangle([x - half, y - half, x + half, y + half], fill=point["color"])
    return np.asarray(canvas)


def hints_json(points):
    """The hint list as the JSON file users download (and upload again later)."""

    return json.dumps([{k: v for k, v in point.items() if v is not None} for point in points], indent=2).encode()


def read_hints_upload(name, data, width, height):
    """An uploaded hints file -> checked points for a ``width`` x ``height`` image;
    raises ``HintError`` naming the file. An object keyed by file name is accepted
    when it holds exactly one list."""

    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HintError(f"{name}: not valid JSON ({error})") from None
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return parse_hints(value, width, height, where=name)


def hint_table(points):
    """Points -> the editable table the page shows (x, y, color)."""
    return pd.DataFrame([{"x": p["x"], "y": p["y"], "color": p["color"]} for p in points], columns=["x", "y", "color"])


def points_from_table(table, width, height):
    """The edited table -> checked points (rows left empty are dropped); ``HintError`` if one is bad."""

    rows = []
    for row in table.to_dict("records"):
        if all(pd.isna(row.get(key)) or row.get(key) in ("", None) for key in ("x", "y", "color")):
            continue
        rows.append(
            {
                "x": float(row["x"]) if not pd.isna(row["x"]) else None,
                "y": float(row["y"]) if not pd.isna(row["y"]) else None,
                "color": row["color"],
            }
        )
    return parse_hints(rows, width, height, where="hint table row")
