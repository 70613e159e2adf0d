"""An HTTP server that speaks TensorFlow Serving's REST API: ``python -m colorkeras.serve``.

A client written against TensorFlow Serving works against this server unchanged,
and the other way round: when one process is not enough, serve the same
SavedModel with TensorFlow Serving (``python -m colorkeras.export --serving-dir``).

    python -m colorkeras.serve --model photos-unet --port 8502
    curl -s localhost:8502/v1/models/photos-unet
    curl -s -X POST localhost:8502/v1/models/photos-unet:predict \\
        -d '{"signature_name": "colorize_bytes", "instances": [{"b64": "'"$(base64 -w0 old.jpg)"'"}]}'

Endpoints (``NAME`` is the run's name unless ``--model-name`` says otherwise):

- ``GET /v1/models/NAME[/versions/1]``: version status;
- ``GET /v1/models/NAME[/versions/1]/metadata``: the signatures, their inputs and outputs;
- ``POST /v1/models/NAME[/versions/1]:predict``: ``{"signature_name": ..., "instances": [...]}``
  (rows, answered with ``predictions``) or ``{"inputs": ...}`` (columns, answered
  with ``outputs``). Binary values travel as ``{"b64": ...}``; an output is
  base64-encoded when its name ends in ``_bytes``.

Errors are ``{"error": "..."}``: 400 for malformed JSON or a bad or oversized
image, 404 for an unknown model, version or signature, 413 for a request body
over ``--max-request-mb``, 503 (with ``Retry-After``) when the requests held pass
``--queue-mb``. The standard library's threading HTTP server carries it (no extra
dependency; the model calls, not the HTTP parsing, are the cost), with a bounded
number of model calls at once (``--workers``); a burst waits for them, bounded by
the bytes it holds. SIGTERM (and Ctrl-C) stop taking requests, finish the ones in
hand, and exit.
"""

import signal
import sys
import threading

from colorkeras.core import cli, store
from colorkeras.core.constants import DEFAULT_PORT, MAX_REQUEST_BYTES, QUEUE_MB


def build_parser():
    parser = cli.command_parser("serve", "Serve a run over TensorFlow Serving's REST API.")
    cli.add_model_flag(parser)
    parser.add_argument(
        "--model-name", default=None, metavar="NAME", help="the name in the URLs (default: the run's name)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every interface (deliberately)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="TCP port (default: 8502, beside the dashboard's 8501; TensorFlow Serving's own REST port is 8501)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="model calls at once (the machine's cores are a good start)"
    )
    parser.add_argument(
        "--queue-mb",
        type=float,
        default=QUEUE_MB,
        help=(
            "megabytes of request bodies held at once (in hand and waiting for a worker); a request beyond it is "
            "answered 503 with Retry-After"
        ),
    )
    parser.add_argument(
        "--max-request-mb", type=float, default=MAX_REQUEST_BYTES / 1e6, help="larger request bodies are refused (413)"
    )
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.serving.http import ModelServer, Server, make_handler

    if args.workers < 1 or args.queue_mb < 0:
        print("error: --workers must be at least 1 and --queue-mb at least 0", file=sys.stderr)
        return 2
    try:
        server_model = ModelServer(args.model, args.model_name, args.workers, args.queue_mb)
        httpd = Server((args.host, args.port), make_handler(server_model, int(args.max_request_mb * 1e6)))
    except store.RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"error: cannot listen on {args.host}:{args.port} ({error.strerror or error}); choose another with --port",
            file=sys.stderr,
        )
        return 2

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return: call it from another thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"Serving {server_model.name} ({', '.join(sorted(server_model.signatures))}) on "
        f"http://{args.host}:{args.port}/v1/models/{server_model.name}",
        file=sys.stderr,
        flush=True,
    )
    httpd.serve_forever()
    httpd.server_close()  # Waits for the requests in hand.
    print("Stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    cli.run(main)
