"""Historical photographs: our colour where there is no truth to score it against.

``python -m colorkeras.evaluate --data historical --contact-sheet FILE``: the seven
public-domain prints of ``colorkeras.data.historical`` (1865-1940, fetched once),
each colorized from its gray copy at full resolution by every run named (default:
the default run), side by side on a contact sheet (gray copy | each run; no truth
column: a toned print is not the scene's colour). The table gives each run's
colourfulness on each photograph, the one figure that needs no truth (how vivid,
not how right).
"""

import logging
from pathlib import Path

import pandas as pd

from colorkeras.core import store
from colorkeras.core.images import luma_gray, save_image
from colorkeras.data import historical
from colorkeras.evaluation import scoring
from colorkeras.evaluation.metrics import colorfulness
from colorkeras.evaluation.options import EvaluateOptions, Report
from colorkeras.serving.inference import Colorizer

log = logging.getLogger(__name__)

FIELDS = ("name", "photograph", "colorfulness", "render_size", "saturation")


def evaluate_historical(options: EvaluateOptions) -> Report:
    """What ``evaluate --data historical`` does: prints each run's colourfulness on
    each photograph, writes the ``--contact-sheet`` (required) and ``--output``.
    Returns the exit status; a bad setting, run or download raises before anything
    is written."""
    scoring.check_limit(options.limit)
    if not options.contact_sheet:
        raise ValueError(
            "--data historical has no colour truth to score against: give --contact-sheet FILE to see the colour"
        )
    unused = [
        flag
        for flag, given in (
            ("--hints", any(options.hints)),
            ("--per-image", options.per_image),
            ("--degrade", options.degrade),
        )
        if given
    ]
    if unused:
        raise ValueError(
            f"--data historical takes no {', '.join(unused)}: these photographs have no truth to reveal or score"
        )
    output = scoring.table_output(options)
    sheet = Path(options.contact_sheet).expanduser()
    store.check_writable(sheet, overwrite=options.overwrite)
    colorizers = [
        Colorizer(name, render_size=options.render_size, saturation=options.saturation)
        for name in (options.model or [None])
    ]
    log.info(f"Historical photographs in {historical.default_folder()} (fetched once) ...")
    photographs = historical.load()[: options.limit]
    cells = [[luma_gray(scan)] for _, scan in photographs]
    rows = []
    for colorizer in colorizers:
        for cell in cells:
            cell.append(colorizer.colorize(cell[0]))
        colours = {
            photograph.name: colorfulness(cell[-1]) for (photograph, _), cell in zip(photographs, cells, strict=False)
        }
        colours["mean"] = sum(colours.values()) / len(colours)
        rows += [
            {
                "name": colorizer.name,
                "photograph": name,
                "colorfulness": value,
                "render_size": colorizer.render_size,
                "saturation": colorizer.saturation,
            }
            for name, value in colours.items()
        ]
    save_image(scoring.panel_sheet(cells, tile=200, columns=1), sheet)
    log.info(f"{sheet}: gray copy | {' | '.join(c.name for c in colorizers)}")
    if output:
        record = {
            "data": "historical",
            "photographs": [p.title for p, _ in photographs],
            "credit": historical.CREDIT,
            "rows": rows,
        }
        scoring.write_table(output, record, FIELDS)
    text = pd.DataFrame(rows, columns=FIELDS).to_string(index=False, formatters={"colorfulness": "{:.1f}".format})
    return Report(rows, "historical", text=text, written=[Path(sheet), *scoring.written(output)])
