"""Mailing images: real pictures are cleaned and stored once; anything else is refused clearly."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from bot.images import MAX_BYTES, ImageError, normalise_image


def picture(
    size: tuple[int, int] = (400, 300),
    fmt: str = "JPEG",
    mode: str = "RGB",
    color: object = (200, 30, 30),
    **save: object,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)  # type: ignore[arg-type]
    return out.getvalue()


def test_a_jpeg_is_stored_under_its_hash_in_media(tmp_path: Path) -> None:
    stored = normalise_image(picture(), tmp_path)
    assert stored.path.parent == tmp_path / "media"
    assert stored.relative_path == f"media/{stored.path.name}"
    assert stored.path.suffix == ".jpg" and stored.format == "jpeg"
    assert (stored.width, stored.height) == (400, 300)
    assert stored.size == stored.path.stat().st_size
    again = normalise_image(picture(), tmp_path)
    assert again.path == stored.path
    assert len(os.listdir(tmp_path / "media")) == 1


def test_exif_orientation_is_applied_and_metadata_dropped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "SpyCam"  # camera make: metadata that must not leak
    data = picture((400, 300), exif=exif.tobytes())
    stored = normalise_image(data, tmp_path)
    assert (stored.width, stored.height) == (300, 400)
    with Image.open(stored.path) as image:
        assert not image.getexif()
    assert b"SpyCam" not in stored.path.read_bytes()


def test_transparency_is_kept_as_png_and_opaque_png_becomes_jpeg(tmp_path: Path) -> None:
    clear = normalise_image(picture(fmt="PNG", mode="RGBA", color=(0, 0, 0, 0)), tmp_path)
    assert clear.format == "png" and clear.path.suffix == ".png"
    opaque = normalise_image(picture(fmt="PNG", mode="RGBA", color=(1, 2, 3, 255)), tmp_path)
    assert opaque.format == "jpeg"


def test_webp_is_accepted(tmp_path: Path) -> None:
    assert normalise_image(picture(fmt="WEBP"), tmp_path).format == "jpeg"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is not an image at all", "not_image"),
        (b"", "not_image"),
        (picture()[:200], "not_image"),  # cut short in transit
        (picture(fmt="GIF", mode="P", color=1), "format"),
        (picture(fmt="BMP"), "format"),
        (picture((5, 5)), "too_small"),
        (picture((2100, 100)), "aspect"),
        (picture((6000, 4500), fmt="PNG", mode="1", color=1), "too_big_dimensions"),
    ],
)
def test_refused_images_say_why(tmp_path: Path, data: bytes, code: str) -> None:
    with pytest.raises(ImageError) as caught:
        normalise_image(data, tmp_path)
    assert caught.value.code == code
    assert str(caught.value)
    assert not list((tmp_path / "media").glob("*")) if (tmp_path / "media").exists() else True


def test_an_oversized_file_is_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        normalise_image(picture() + b"\0" * MAX_BYTES, tmp_path)
    assert caught.value.code == "too_large"
