"""Training settings: one dataclass, grouped, each with the reason it exists.

``None`` means "the architecture's default" and is resolved by ``resolve()``; the
resolved settings are written to each run's ``config.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from colorkeras.core.constants import SENSE_CLASSIFIER
from colorkeras.core.store import local_path


@dataclass(frozen=True)
class Architecture:
    """What every part of the system needs to know of a network, without building it
    (no TensorFlow here): its defaults, what it predicts, and the sizes it takes.
    ``colorkeras.models.registry.BUILDERS`` holds the function that builds each one."""

    name: str
    defaults: dict[str, Any]  # Filled into every None setting by TrainConfig.resolve().
    chroma: bool = True  # Predicts a/b (classes or regression head) at half resolution; False: sRGB at full.
    takes_hints: bool = False
    fixed_multiple: int | None = (
        None  # Input sides must be multiples of this; None: 2 ** depth for a chroma network, 1 otherwise.
    )
    options: tuple[str, ...] = ()  # TrainConfig settings of this architecture alone, passed to its builder.
    description: str = ""

    def size_multiple(self, depth: int) -> int:
        if self.fixed_multiple:
            return self.fixed_multiple
        return 2**depth if self.chroma else 1


# The U-Net is this project's model; the plain CNN is the original design, kept as
# the baseline every comparison shows. The U-Net's width of 28 is the widest whose
# run (SavedModel and model.keras, about 16 MB) stays under the 20 MB a shipped run
# may take; its temperature of 1.0 beat 0.5 on both PSNR and colourfulness on
# validation data (see the cifar10-unet card). The MobileNetV2 U-Net starts from
# ImageNet weights (--encoder-weights) and is 32-aligned by its five strides.
ARCHITECTURES = {
    "unet": Architecture(
        "unet",
        dict(base_filters=28, depth=3, head="classes", loss="crossentropy", saturation=1.0, temperature=1.0),
        takes_hints=True,
        description="L -> a/b, this project's U-Net",
    ),
    "plain-cnn": Architecture(
        "plain-cnn",
        dict(base_filters=64, depth=6, head="rgb", loss="mse", saturation=1.5, temperature=1.0),
        chroma=False,
        description="the original gray -> RGB design",
    ),
    "mobilenet-unet": Architecture(
        "mobilenet-unet",
        dict(base_filters=16, depth=5, head="classes", loss="crossentropy", saturation=1.0, temperature=1.0),
        takes_hints=True,
        fixed_multiple=32,
        options=("encoder_weights", "freeze_encoder", "global_view"),
        description="L -> a/b from an ImageNet-pretrained MobileNetV2 encoder (--encoder-weights)",
    ),
}
ARCHITECTURE_DEFAULTS = {name: architecture.defaults for name, architecture in ARCHITECTURES.items()}


def architecture(name: str) -> Architecture:
    """The ``Architecture`` named ``name``; ``ValueError`` naming the choices otherwise."""
    if name not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, received {name!r}")
    return ARCHITECTURES[name]


def automatic_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A hint network's settings (a dict) as its automatic twin's: no hints, and so
    no region hints (which need them)."""
    return {**settings, "hints": False, "region_hints": 0.0}


@dataclass
class TrainConfig:
    # === Data ===
    data: str | list[str] = (
        "cifar10"  # "cifar10", a path (image folder, cifar-10-python.tar.gz or its folder), or a list of these.
    )
    image_size: int = 32  # Side of the square training crops, in pixels.
    load_size: int | None = None  # Side images are stored at before cropping (default: image_size).
    validation_fraction: float = 0.1  # Share of the training images held out for val_loss.
    limit: int | None = None  # Use at most this many training images (quick experiments).
    degrade: float = (
        0.0  # Share of training inputs given archive-scan defects (fading, blur, grain, JPEG, scratches); 0 = off.
    )

    # === Model ===
    # A name in ARCHITECTURES: "unet" (L -> a/b), "plain-cnn" (the original gray -> RGB design), "mobilenet-unet".
    architecture: str = "unet"
    base_filters: int | None = None  # Width: filters of the first level.
    depth: int | None = None  # U-Net: levels of downsampling; plain CNN: number of convolutions.
    head: str | None = None  # U-Net: "classes" (quantised a/b) or "regression"; plain CNN: "rgb".
    loss: str | None = None  # "crossentropy" (classes head), "mse", "l1" or "huber".
    bin_step: float = 10.0  # Classes head: a/b grid step in Lab units.
    class_rebalance: float = 0.0  # Classes head: lambda of training-loss rebalancing (Zhang et al. use 0.5); 0 = off.
    init_from: str | None = (
        None  # A run (name or folder), or a .weights.npz of portable_train, whose weights start training.
    )
    hints: bool = (
        False  # U-Nets: also take user hints (L plus a hint canvas; Zhang et al. 2017), trained with simulated ones.
    )
    # Hints: share of training samples with one edge-bounded region recoloured and hinted (data.regions); 0 = off.
    region_hints: float = 0.0
    # Hints: weight of the squared a/b error of the hinted colour after the served edge stop (training.edge_stop).
    edge_stop: float = 0.0
    encoder_weights: str | None = (
        None  # mobilenet-unet: the pretrained MobileNetV2 TFLite file its encoder starts from.
    )
    freeze_encoder: bool = (
        False  # mobilenet-unet: keep the pretrained encoder's weights as they are (train the decoder only).
    )
    # mobilenet-unet: the encoder also sees the whole image at this square side, fused at the bottleneck; 0 = off.
    global_view: int = 0

    # === Sense terms (models.sense; hint networks with a classes head; 0 = off) ===
    perceptual: float = 0.0  # Weight of matching a frozen ImageNet MobileNetV2's features of truth and colorization.
    semantic: float = 0.0  # Weight of the KL between that classifier's class distributions of truth and colorization.
    colourfulness: float = 0.0  # Weight of |mean chroma - the truth's| / 10: the counterweight that pays for colour.
    sense_classifier: str | None = None  # The MobileNetV2 TFLite file those terms use (SENSE_CLASSIFIER if unset).

    # === Optimisation ===
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3  # Adam's initial learning rate.
    schedule: str = "cosine"  # "constant" or "cosine" (decays to 5% over the epochs).
    early_stopping: int = 0  # Stop after this many epochs without a better val_loss; 0 = off.
    seed: int = 0  # Seeds weights, the validation split and the shuffling.
    precision: str = "float32"  # "float32" or "mixed_bfloat16" (bfloat16 compute, float32 weights and loss).
    # Train only the layers whose names start with this (or one of several, comma-separated: a new branch on a trained
    # network); None = all.
    train_only: str | None = None

    # === Export (defaults of the SavedModel's serving signature) ===
    render_size: int | None = None  # Short side the chroma is predicted at (default: image_size).
    saturation: float | None = None  # HSV saturation factor after prediction; 1.0 = off.
    temperature: float | None = None  # Classes head: annealed-mean temperature, 1.0 = mean.
    prior_weight: float = 0.0  # Classes head: decode-time class rebalancing, 0 = off (see model.decode_chroma).

    # === Run ===
    distribute: str = "none"  # "none", "mirrored" (local devices) or "multiworker" (TF_CONFIG).
    samples: int = 8  # Test images shown in samples.png.
    evaluate_limit: int | None = None  # Score at most this many test images at the end (None: all).

    def resolve(self) -> TrainConfig:
        """Fills every ``None`` default from the architecture and checks the values."""
        network = architecture(self.architecture)
        for key, value in network.defaults.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self.load_size = self.load_size or self.image_size
        self.render_size = self.render_size or self.image_size
        if self.uses_sense and not self.sense_classifier:
            self.sense_classifier = SENSE_CLASSIFIER
        # The type: ignore comments below: base_filters, depth, saturation and temperature are
        # Optional until the loop above fills them from the architecture's defaults, which only
        # does so where those defaults hold them (nothing checks a registered architecture's).
        checks = [
            (self.image_size >= 8, f"image size must be at least 8, received {self.image_size}"),
            (
                self.load_size >= self.image_size,
                f"load size ({self.load_size}) must be >= image size ({self.image_size})",
            ),
            (
                self.epochs >= 1 or (self.epochs == 0 and self.init_from),
                "epochs must be at least 1 (0 only with --init-from: the given weights as a run), "
                f"received {self.epochs}",
            ),
            (
                not self.hints or network.takes_hints,
                "hints need an architecture that takes them "
                f"({', '.join(n for n, a in ARCHITECTURES.items() if a.takes_hints)})",
            ),
            (self.batch_size >= 1, f"batch size must be at least 1, received {self.batch_size}"),
            (self.learning_rate > 0, f"learning rate must be positive, received {self.learning_rate}"),
            (self.base_filters >= 1, f"base filters must be at least 1, received {self.base_filters}"),  # type: ignore[operator]
            (self.depth >= 1, f"depth must be at least 1, received {self.depth}"),  # type: ignore[operator]
            (
                self.schedule in ("constant", "cosine"),
                f"schedule must be 'constant' or 'cosine', received {self.schedule!r}",
            ),
            (
                self.distribute in ("none", "mirrored", "multiworker"),
                f"distribute must be none, mirrored or multiworker, received {self.distribute!r}",
            ),
            (
                0 <= self.validation_fraction < 1,
                f"validation fraction must be in [0, 1), received {self.validation_fraction}",
            ),
            (self.saturation > 0, f"saturation must be positive, received {self.saturation}"),  # type: ignore[operator]
            (self.temperature > 0, f"temperature must be positive, received {self.temperature}"),  # type: ignore[operator]
            (self.render_size >= 8, f"render size must be at least 8, received {self.render_size}"),
            (
                self.precision in ("float32", "mixed_bfloat16"),
                f"precision must be float32 or mixed_bfloat16, received {self.precision!r}",
            ),
            (0.0 <= self.degrade <= 1.0, f"degrade must be a share in [0, 1], received {self.degrade}"),
            (0.0 <= self.region_hints <= 1.0, f"region hints must be a share in [0, 1], received {self.region_hints}"),
            (self.hints or not self.region_hints, "--region-hints trains a hint network: add --hints"),
            (self.edge_stop >= 0, f"--edge-stop is a weight >= 0, received {self.edge_stop}"),
            (
                not self.edge_stop or (self.hints and self.head == "classes"),
                "--edge-stop trains a hint network with a classes head: add --hints",
            ),
            (0.0 <= self.class_rebalance <= 1.0, f"class rebalance must be in [0, 1], received {self.class_rebalance}"),
            (0.0 <= self.prior_weight <= 1.0, f"prior weight must be in [0, 1], received {self.prior_weight}"),
            (
                min(self.perceptual, self.semantic, self.colourfulness) >= 0,
                "--perceptual, --semantic and --colourfulness are weights >= 0, received "
                f"{self.perceptual}, {self.semantic} and {self.colourfulness}",
            ),
            (
                not self.uses_sense or (self.hints and self.head == "classes"),
                "--perceptual, --semantic and --colourfulness train a hint network with a classes head: add --hints",
            ),
            (
                not self.global_view or "global_view" in network.options,
                "--global-view needs an architecture with a pretrained encoder "
                f"({', '.join(n for n, a in ARCHITECTURES.items() if 'global_view' in a.options)})",
            ),
            (
                self.global_view >= 0 and self.global_view % 32 == 0,
                f"global view must be 0 (off) or a multiple of 32 such as 224, received {self.global_view}",
            ),
        ]
        multiple = network.size_multiple(self.depth)  # type: ignore[arg-type]
        checks.append(
            (
                self.image_size % multiple == 0,
                f"image size must be a multiple of {multiple} for {self.architecture} (depth {self.depth}), "
                f"received {self.image_size}",
            )
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        return self

    @property
    def uses_sense(self) -> bool:
        """Whether any sense term (models.sense) has weight."""
        return bool(self.perceptual or self.semantic or self.colourfulness)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    PATH_FIELDS = ("data", "init_from", "encoder_weights", "sense_classifier")

    @classmethod
    def from_record(cls, settings: dict[str, Any]) -> TrainConfig:
        """The settings a run's config.json holds, their paths found on this machine:
        records store them portably (``store.portable_path``: ``../shared/datasets/photos``),
        so a run resumed or re-exported from another working folder reads the same files."""
        values = dict(settings)
        for name in cls.PATH_FIELDS:
            value = values.get(name)
            values[name] = [local_path(item) for item in value] if isinstance(value, list) else local_path(value)
        return cls.from_dict(values)
