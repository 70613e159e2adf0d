"""Figures that several packages share, each defined once (no TensorFlow here, so a
command line's flags can name them before anything heavy loads)."""

# CIELAB chroma: a and b of sRGB colours lie in about [-110, 110]. Regression heads
# predict ab / AB_SCALE and the hint canvas holds ab / AB_SCALE, both in about [-1, 1];
# the a/b bins of the classes head span the same range.
AB_SCALE = 110.0

# Films: the containers read (FFmpeg through PyAV), and those written (H.264 + AAC in MP4).
FILM_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
FILM_OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov")
DEFAULT_STABILITY = 0.95  # The film stabiliser's default (0 = per frame, 1 = frozen colour).
DEFAULT_EVERY = 4  # The film's network colours every Nth frame; the frames between carry its colour along the flow.

# The HTTP server (TensorFlow Serving's REST API).
DEFAULT_PORT = 8502  # Not 8501: the dashboard (streamlit) listens there, and both run side by side.
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # A 12-megapixel JPEG in base64 is about 8 MB.
QUEUE_MB = 256  # The server's request bytes held at once (in hand and waiting) before it answers 503.
# The ImageNet MobileNetV2 the pretrained encoder starts from; the sense terms (models.sense) look through it.
SENSE_CLASSIFIER = "../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite"
