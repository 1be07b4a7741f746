"""A mailing's image: checked as a real photo Telegram accepts, cleaned, kept in DATA_DIR/media.

The image is decoded with Pillow (never trusted by its name or type), turned the way
its EXIF says, stripped of metadata and stored as JPEG (PNG when it has
transparency) under its SHA-256, so the same picture is stored once.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# Telegram's limits for a photo (Bot API: 10 MB, width + height <= 10000, ratio <= 20).
MAX_BYTES = 10 * 1024 * 1024
MAX_SIDES_SUM = 10_000
MAX_ASPECT = 20
MIN_SIDE = 10
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MEDIA_DIR = "media"
_JPEG_QUALITIES = (90, 80, 70)


class ImageError(ValueError):
    """An image refused; `code` names the reason, str() says it in English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredImage:
    """A normalised image on disk."""

    path: Path  # absolute
    relative_path: str  # relative to DATA_DIR, as mailings.image_path keeps it
    width: int
    height: int
    size: int
    format: str  # "jpeg" or "png"


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA"):
        lowest = image.getchannel("A").getextrema()[0]
        return isinstance(lowest, int | float) and lowest < 255
    return image.mode == "P" and "transparency" in image.info


def _encode(image: Image.Image) -> tuple[bytes, str]:
    """The image as PNG (when transparent and small enough) or JPEG, metadata dropped."""
    if _has_alpha(image):
        out = io.BytesIO()
        image.convert("RGBA").save(out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            return out.getvalue(), "png"
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flat
    rgb = image.convert("RGB")
    data = b""
    for quality in _JPEG_QUALITIES:
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=quality, optimize=True)
        data = out.getvalue()
        if len(data) <= MAX_BYTES:
            break
    return data, "jpeg"


def check_dimensions(width: int, height: int) -> None:
    """Telegram's photo rules: sides at least MIN_SIDE, sum of sides, aspect ratio."""
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            "too_small", f"the image is {width}×{height} px; each side needs {MIN_SIDE} px or more"
        )
    if width + height > MAX_SIDES_SUM:
        raise ImageError(
            "too_big_dimensions",
            f"the image is {width}×{height} px; width + height may be at most {MAX_SIDES_SUM}",
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            "aspect",
            f"the image is {width}×{height} px; one side may be at most {MAX_ASPECT} times "
            "the other",
        )


def normalise_image(data: bytes, data_dir: Path) -> StoredImage:
    """Check and clean an uploaded image and store it; ImageError says why it is refused."""
    if len(data) > MAX_BYTES:
        raise ImageError("too_large", f"the image is larger than {MAX_BYTES // 1024 // 1024} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in FORMATS:
                    raise ImageError("format", f"{kind or 'this'} images are not accepted")
                check_dimensions(*probe.size)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("not_image", "the file is not an image I can read") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ImageError("not_image", "the image is damaged and cannot be read") from None
    check_dimensions(*upright.size)
    encoded, fmt = _encode(upright)
    if len(encoded) > MAX_BYTES:
        raise ImageError("too_large", "the image stays larger than 10 MB even compressed")
    name = f"{hashlib.sha256(encoded).hexdigest()}.{'png' if fmt == 'png' else 'jpg'}"
    media = data_dir / MEDIA_DIR
    media.mkdir(parents=True, exist_ok=True)
    target = media / name
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=media, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(encoded)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredImage(
        path=target,
        relative_path=f"{MEDIA_DIR}/{name}",
        width=upright.width,
        height=upright.height,
        size=len(encoded),
        format=fmt,
    )
