"""What an evaluation is asked to do, and what it found: typed, with no TensorFlow.

``python -m colorkeras.evaluate`` parses its flags into ``EvaluateOptions`` (each field is
the flag of the same name; ``colorkeras/evaluate.py`` documents them) and the library's
measures take that; ``colorkeras.score`` builds one from keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class EvaluateOptions:
    # === What is scored ===
    model: list[str] | None = None  # Run names or folders; None: every run in the store (the default run for some).
    data: str = "cifar10"  # "cifar10", an image folder, "skimage", "historical" or a colour film.
    split: str = "test"  # "test", "validation", "train" or "all" (image folders and CIFAR-10).
    split_given: bool = False  # Whether the split was asked for (modes that score no split refuse it).
    limit: int | None = None  # Score at most this many images (None: all).
    # === How each run colours (None: each run's own setting) ===
    render_size: int | None = None
    saturation: float | None = None
    temperature: float | None = None
    prior_weight: float | None = None
    # === The measure ===
    hints: list[int] = field(default_factory=lambda: [0])  # Simulated hint counts to sweep; 0 = automatic.
    degrade: bool = False  # Give every input archive-scan defects (fading, blur, grain, JPEG, scratches).
    stability: float | None = None  # Films: the stabiliser's setting (None: the default).
    every: int = 4  # Films: the network colours every Nth frame.
    key_frames: str | None = (
        None  # Films: a folder of key frames; adds a row coloured from them (their frames left out).
    )
    leakage: bool = False  # Measure how far a hint's colour leaks past its region.
    band: int | None = None  # Leakage: the band around a region, in pixels (None: the measure's own).
    regions: int = 3  # Leakage: regions hinted per image.
    recognition: str | None = None  # A TFLite ImageNet classifier: recognition instead of PSNR.
    reference_pairs: bool = False  # Colour from a reference, on pairs of overlapping views, instead of PSNR.
    true_classes: bool = False  # Recognition against each photo's true class (labels.txt).
    # === What is written ===
    output: str | None = None  # A JSON report (and a CSV beside it).
    contact_sheet: str | None = None  # A PNG of gray copy, each run and the truth.
    sheet_count: int = 24
    per_image: bool = False  # skimage: a row per photograph too.
    batch_size: int = 256  # Images per batch for same-sized images.
    overwrite: bool = False  # Replace report files that exist.


@dataclass
class Report:
    """What an evaluation found: ``rows`` (the gray copy first, then each run, the truth
    last; each a dict of the measure's columns), where the images came from, and the
    files written."""

    rows: list[dict[str, Any]]
    source: str
    columns: tuple[str, ...] = ()  # Extra columns a table of the rows shows (films: warping_error).
    per_image: list[dict[str, Any]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    text: str = ""  # The table as the command line prints it, where the measure has its own layout.

    def row(self, name: str) -> dict[str, Any]:
        """The row named ``name`` (a run, ``gray copy`` or ``ground truth``); KeyError if none."""
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(f"no row named {name!r}; rows: {', '.join(row['name'] for row in self.rows)}")
