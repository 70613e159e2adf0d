"""Test films made from colour photographs with known camera motion, and a sound track.

``make_clip`` films a virtual camera over scikit-image's colour photographs: a
pan across one, a zoom into another, a cut between them, and a sine tone as its
audio (AAC). Colour originals, so colorized films can be scored against the
truth; no network needed. ``python -m colorkeras.clips OUT_DIR`` writes the clips
the README's film figures come from.
"""

import argparse
import sys
from pathlib import Path

from colorkeras.data.film_clips import make_clip


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m colorkeras.clips", description=__doc__.splitlines()[0])
    parser.add_argument("out", metavar="OUT_DIR", help="folder for the clips")
    parser.add_argument("--frames-per-shot", type=int, default=48)
    parser.add_argument(
        "--shots", type=int, choices=(2, 4), default=2, help="2: a pan and a zoom; 4: a pan, a zoom, a pan, a zoom"
    )
    parser.add_argument(
        "--key-frames",
        action="store_true",
        help="beside each clip, a folder CLIP-keys/ of the first frame of each shot in colour (0.png, 48.png, ...), "
        "for film --key-frames",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in (("clip-320x240.mp4", (320, 240)), ("clip-640x480.mp4", (640, 480))):
        keys = out / f"{Path(name).stem}-keys" if args.key_frames else None
        if keys is not None:
            keys.mkdir(exist_ok=True)
        count = make_clip(out / name, width, height, args.frames_per_shot, shot_count=args.shots, keys=keys)
        print(
            f"Wrote {out / name}: {count} frames in {args.shots} shots, {width}x{height}, 24 fps, with audio"
            + (f"; its key frames in {keys}/" if keys else ""),
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
