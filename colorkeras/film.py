"""Film: colorize a black-and-white film with colour that holds still, and keep its sound.

    python -m colorkeras.film newsreel.mp4 --out newsreel-colour.mp4
    python -m colorkeras.film home-movie.avi --out colour.mp4 --stability 0.9 --model RUN
    python -m colorkeras.film reel.mp4 --out colour.mp4 --key-frames keys/   # keys/0.png, keys/240.png, ...

Decoding and encoding go through PyAV (FFmpeg), streaming: a film of any length
takes the memory of a few seconds of it. Every frame is colorized by the run's
SavedModel (the path of every other front end); then ``Stabiliser`` carries the
previous frame's colour along the optical flow of the gray input (OpenCV's DIS)
and blends it with the new prediction where the flow is reliable, so colours
stop jumping between frames. A scene cut starts afresh; ``--stability 0`` is
plain per-frame colorization. ``--key-frames DIR`` colours each shot that has a
key frame from it (``colorkeras.video.key_frames``).

The output is H.264 in MP4 (yuv420p) with the input's frame rate, timestamps and
audio stream (copied, not re-encoded). It is written in segments under a hidden
work folder beside the output, each kept once complete with the stabiliser's
state at its end; interrupted (Ctrl-C, kill -9) and run again with the same
command, it resumes after the last complete segment and gives the same frames.
The output's own name appears only when the whole film is written.
"""

import sys
from pathlib import Path

from colorkeras.core import cli, store
from colorkeras.core.constants import DEFAULT_EVERY, DEFAULT_STABILITY, FILM_OUTPUT_SUFFIXES
from colorkeras.core.hints import HintError, read_hints_file


def build_parser():
    parser = cli.command_parser(
        "film", "Colorize a black-and-white film into an H.264 MP4, with stable colour and its sound kept."
    )
    parser.add_argument("input", metavar="INPUT", help="a film (any format FFmpeg reads: MP4, MOV, AVI, MKV, ...)")
    parser.add_argument("--out", required=True, metavar="OUTPUT", help="the colorized film to write (.mp4)")
    cli.add_model_flag(parser)
    parser.add_argument(
        "--stability",
        type=float,
        default=DEFAULT_STABILITY,
        help="0: colorize each frame on its own; up to 1: carry colour along the motion where it is reliable",
    )
    parser.add_argument(
        "--every",
        type=cli.count,
        default=DEFAULT_EVERY,
        metavar="N",
        help="the network colours every Nth frame (and the first after a cut); the frames between take the colour "
        "carried along the motion: faster, and steadier (with --stability 0, every frame is coloured)",
    )
    parser.add_argument(
        "--hints",
        metavar="FILE",
        help="JSON hint points for a run trained with --hints: a list for every frame, or lists keyed by frame number",
    )
    parser.add_argument(
        "--key-frames",
        metavar="DIR",
        help="colour images named by the 0-based frame they colour (0.png, 240.png): each colours its shot",
    )
    parser.add_argument("--render-size", type=int, help="short side the colour is predicted at (default: the run's)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.serving.inference import Colorizer
    from colorkeras.video.key_frames import KeyFrames
    from colorkeras.video.pipeline import FilmError, colorize_film, film_info, peak_memory_mb

    output = Path(args.out).expanduser()
    source = Path(args.input).expanduser()
    try:
        if output.suffix.lower() not in FILM_OUTPUT_SUFFIXES:
            raise FilmError(f"{output}: write the film as .mp4 (H.264 in MP4)")
        if output.exists() and not args.overwrite:
            raise FilmError(f"{output} already exists; choose another --out or pass --overwrite")
        if output.exists() and output.resolve() == source.resolve():
            raise FilmError(f"{output}: the output would replace the input")
        if not output.parent.is_dir():
            raise FilmError(f"{output.parent}: no such folder for the output")
        store.check_writable(output)  # Before any decoding: a folder we cannot write is said at once.
        info = film_info(source)
        hints = read_hints_file(args.hints) if args.hints else None

        if args.key_frames and hints:
            raise FilmError("give --hints or --key-frames, not both")
        keys = KeyFrames.read(args.key_frames, info["width"], info["height"]) if args.key_frames else None
        colorizer = Colorizer(args.model, render_size=args.render_size)
        if keys is not None:
            colorizer.check_takes_reference()
            print(f"Finding the shots of {source} for {len(keys.frames)} key frame(s)", file=sys.stderr)
            keys.find_shots(source)
        print(
            f"Colorizing {source} ({info['width']}x{info['height']}, {info['frames'] or '?'} frames at "
            f"{info['rate'] or '?'} fps, audio: {info['audio'] or 'none'}) "
            f"with {colorizer.name}, stability {args.stability}"
            + (f", the network on every {args.every} frames" if args.every > 1 else "")
            + (f", {len(keys.frames)} key frame(s) (their shots: every frame)" if keys is not None else ""),
            file=sys.stderr,
        )
        interactive = sys.stderr.isatty()

        def progress(done, total, seconds):
            fps = done / max(seconds, 1e-9)
            left = f", {max(total - done, 0) / max(fps, 1e-9):.0f} s left" if total else ""
            line = f"frame {done}/{total or '?'}  {fps:.1f} frames/s{left}"
            print(
                f"\r{line:<70}" if interactive else line, end="" if interactive else "\n", file=sys.stderr, flush=True
            )

        summary = colorize_film(source, output, colorizer, args.stability, hints, progress, args.every, keys)
        if interactive:
            print(file=sys.stderr)
    except (FilmError, HintError, store.RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: completed segments are kept; "
            f"run the same command again to resume ({output} is not written yet)",
            file=sys.stderr,
        )
        return 130
    except OSError as error:
        print(f"error: {error.strerror or error} ({error.filename or output})", file=sys.stderr)
        return 1
    notes = []
    if summary["resumed_at_frame"]:
        notes.append(f"resumed at frame {summary['resumed_at_frame']}")
    if summary["padded"]:
        notes.append("odd width or height padded by one pixel (yuv420p needs even sides)")
    if info["audio"] and not summary["audio"]:
        notes.append(f"the audio ({info['audio']}) cannot be copied into MP4 and was left out")
    peak_mb = peak_memory_mb()
    print(
        (
            f"Done: {summary['frames']} frames in {summary['seconds']:.1f} s, {summary['cuts']} scene cut(s), "
            f"peak memory {peak_mb:.0f} MB"
        )
        + (f"; {'; '.join(notes)}" if notes else "")
        + f"; wrote {output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
