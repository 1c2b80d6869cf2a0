"""Image sanitizing: formats recognised by their bytes, metadata gone, pixels right."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pytest
from PIL import Image

from opsdata.etl.chatwoot.images import ImageRejected, sanitize, sniff
from support_images import (
    HTML,
    SVG,
    animated_gif,
    exif_bytes,
    jpeg_with_gps,
    png_with_metadata,
    srgb_icc,
    two_halves,
    webp_with_metadata,
)

METADATA_KEYS = {"exif", "xmp", "icc_profile", "comment", "Comment", "XML:com.adobe.xmp", "extension"}


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions: signature, IHDR, an empty IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("head", "described"),
    [
        (SVG, "svg"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (HTML, "html"),
        (b"<html><body>", "html"),
        (b"<?xml version='1.0'?><feed/>", "xml or markup"),
        (b'{"error": "not found"}', "json"),
        (b"%PDF-1.7", "pdf"),
        (b"BM\x00\x00", "bmp"),
        (b"II*\x00\x08\x00", "tiff"),
        (b"PK\x03\x04", "zip"),
        (b"\x00\x00\x00\x1cftypheic", "iso media (video or heic)"),
        (b"\x00\x01\x02\x03", "unknown data"),
        (b"", "empty data"),
    ],
)
def test_sniff_names_what_non_images_look_like(head: bytes, described: str):
    with pytest.raises(ImageRejected) as caught:
        sniff(head)
    assert str(caught.value) == f"not_an_image: content looks like {described}"


def test_sniff_recognises_the_accepted_formats_by_magic_bytes():
    assert sniff(jpeg_with_gps()[:64]).content_type == "image/jpeg"
    assert sniff(png_with_metadata()[:64]).content_type == "image/png"
    assert sniff(animated_gif()[:64]).content_type == "image/gif"
    assert sniff(webp_with_metadata()[:64]).content_type == "image/webp"


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (jpeg_with_gps, "JPEG"),
        (png_with_metadata, "PNG"),
        (webp_with_metadata, "WEBP"),
        (animated_gif, "GIF"),
    ],
)
def test_sanitized_images_keep_their_format_and_lose_all_metadata(make, fmt: str):
    source = make()
    assert METADATA_KEYS & set(Image.open(BytesIO(source)).info)  # the input carries metadata

    clean = sanitize(source)

    out = Image.open(BytesIO(clean.data))
    assert out.format == fmt == clean.format.name
    assert not METADATA_KEYS & set(out.info)
    assert not out.getexif()
    assert (out.width, out.height) == (clean.width, clean.height)
    for secret in (b"PrivateCam", b"jane.doe", b"Baker Street", b"GPSLatitude", b"ICC_PROFILE", b"Exif\x00\x00"):
        assert secret not in clean.data


def test_reencoding_is_deterministic_so_reruns_store_the_same_bytes():
    for make in (jpeg_with_gps, png_with_metadata, webp_with_metadata, animated_gif):
        source = make()
        assert sanitize(source).data == sanitize(source).data


@pytest.mark.parametrize(("orientation", "size"), [(1, (64, 32)), (3, (64, 32)), (6, (32, 64)), (8, (32, 64))])
def test_exif_orientation_is_applied_before_it_is_dropped(orientation: int, size: tuple[int, int]):
    clean = sanitize(jpeg_with_gps(64, 32, orientation=orientation))

    pixels = Image.open(BytesIO(clean.data)).convert("RGB")
    assert pixels.size == size == (clean.width, clean.height)
    # where the red half (left in the stored pixels) ends up once displayed
    red_at = {1: (8, 16), 3: (56, 16), 6: (16, 8), 8: (16, 56)}[orientation]
    red = pixels.getpixel(red_at)
    assert red[0] > 200 and red[2] < 60


def test_an_animated_gif_keeps_its_first_frame_only():
    clean = sanitize(animated_gif(frames=4))

    out = Image.open(BytesIO(clean.data))
    assert getattr(out, "n_frames", 1) == 1
    assert out.convert("RGB").getpixel((0, 0)) == (255, 0, 0)  # frame 0 was red


def test_gif_and_png_transparency_survive():
    frame = Image.new("P", (10, 10), 0)
    frame.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    frame.paste(1, (5, 0, 10, 10))
    gif = BytesIO()
    frame.save(gif, "GIF", transparency=0)
    rgba = BytesIO()
    Image.new("RGBA", (4, 4), (10, 20, 30, 0)).save(rgba, "PNG")

    gif_out = Image.open(BytesIO(sanitize(gif.getvalue()).data))
    png_out = Image.open(BytesIO(sanitize(rgba.getvalue()).data))

    assert gif_out.info.get("transparency") == 0 and gif_out.convert("RGBA").getpixel((0, 0))[3] == 0
    assert png_out.mode == "RGBA" and png_out.getpixel((0, 0))[3] == 0


def test_lossless_webp_stays_lossless_and_lossy_stays_lossy():
    lossless = sanitize(webp_with_metadata(lossless=True)).data
    lossy = sanitize(webp_with_metadata(lossless=False)).data
    assert lossless[12:16] == b"VP8L"
    assert lossy[12:16] in (b"VP8 ", b"VP8X") and b"VP8L" not in lossy


def test_cmyk_jpeg_becomes_rgb_jpeg():
    source = BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(source, "JPEG", exif=exif_bytes())

    clean = sanitize(source.getvalue())

    out = Image.open(BytesIO(clean.data))
    assert out.mode == "RGB" and clean.format.name == "JPEG"


def test_an_srgb_profile_is_removed_without_changing_colours():
    source = BytesIO()
    two_halves().save(source, "PNG", icc_profile=srgb_icc())

    out = Image.open(BytesIO(sanitize(source.getvalue()).data))

    assert "icc_profile" not in out.info
    assert out.convert("RGB").getpixel((8, 8)) == (255, 0, 0)


def test_images_over_the_pixel_limit_are_refused_before_decoding():
    with pytest.raises(ImageRejected, match=r"too_many_pixels: 100000x100000 exceeds 50000000 pixels|too_many_pixels"):
        sanitize(png_header_only(100_000, 100_000))
    with pytest.raises(ImageRejected) as caught:
        sanitize(png_header_only(5_000, 5_000), max_pixels=1_000_000)
    assert str(caught.value) == "too_many_pixels: 5000x5000 exceeds 1000000 pixels"


def test_truncated_and_corrupt_images_are_refused():
    truncated = jpeg_with_gps()[:300]
    with pytest.raises(ImageRejected, match="corrupt_image: JPEG could not be decoded"):
        sanitize(truncated)
    with pytest.raises(ImageRejected, match="corrupt_image: PNG could not be decoded"):
        sanitize(png_header_only(10, 10))  # IDAT holds no pixel rows
