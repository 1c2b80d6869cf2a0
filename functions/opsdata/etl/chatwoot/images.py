"""Image attachments: recognise them by their bytes, decode safely, re-encode without metadata.

What comes out holds pixels only: no EXIF (so no GPS, camera serials or timestamps), no XMP,
no ICC profile (colours are converted to sRGB first, so they still look right), no comments
or text chunks. EXIF orientation is applied before it is dropped. JPEG stays JPEG, PNG stays
PNG, WebP stays WebP (lossless stays lossless) and GIF stays GIF; animations keep their first
frame only (see README, "Attachments and images").
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageCms, ImageOps

DEFAULT_MAX_PIXELS = 50_000_000  # a 48 MP phone photo fits; decoding costs ~3 bytes per pixel


@dataclass(frozen=True)
class ImageFormat:
    name: str  # Pillow's format name
    content_type: str
    extension: str


FORMATS = {
    "JPEG": ImageFormat("JPEG", "image/jpeg", "jpg"),
    "PNG": ImageFormat("PNG", "image/png", "png"),
    "GIF": ImageFormat("GIF", "image/gif", "gif"),
    "WEBP": ImageFormat("WEBP", "image/webp", "webp"),
}


class ImageRejected(Exception):
    """Not an image we accept. `code: detail`, safe to store (never any image content)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int
    sha256: str  # of `data`, the bytes that are stored


def sniff(head: bytes) -> ImageFormat:
    """The format the first bytes prove, or ImageRejected naming what they look like instead."""
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FORMATS["GIF"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    raise ImageRejected("not_an_image", f"content looks like {_describe(head)}")


def _describe(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    if text.startswith(b"<"):
        return "xml or markup"
    if text.startswith((b"{", b"[")):
        return "json"
    signatures = {
        b"%PDF": "pdf",
        b"BM": "bmp",
        b"II*\x00": "tiff",
        b"MM\x00*": "tiff",
        b"PK\x03\x04": "zip",
        b"\x1f\x8b": "gzip",
        b"\x00\x00\x01\x00": "ico",
    }
    for magic, name in signatures.items():
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "iso media (video or heic)"
    return "unknown data" if head else "empty data"


def sanitize(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> CleanImage:
    """Decode `data` and re-encode it without metadata. Raises ImageRejected."""
    fmt = sniff(data[:64])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # `formats` pins the decoder to the sniffed one: no other Pillow plugin gets the bytes.
            with Image.open(BytesIO(data), formats=[fmt.name]) as source:
                width, height = source.size
                if width * height > max_pixels:
                    raise ImageRejected("too_many_pixels", f"{width}x{height} exceeds {max_pixels} pixels")
                source.seek(0)
                source.load()
                encoded, size = _reencode(source, fmt, lossless=_webp_lossless(data))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_many_pixels", f"over Pillow's decompression-bomb limit ({fmt.name})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise ImageRejected("corrupt_image", f"{fmt.name} could not be decoded ({type(exc).__name__})") from None
    return CleanImage(encoded, fmt, size[0], size[1], hashlib.sha256(encoded).hexdigest())


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP's (first) image is VP8L, walking the RIFF chunks up to it."""
    if data[8:12] != b"WEBP":
        return False
    pos = 12
    while pos + 8 <= len(data):
        fourcc, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":  # animation frame: 16 bytes of frame header, then the image chunk
            return data[pos + 24 : pos + 28] == b"VP8L"
        pos += 8 + size + (size & 1)
    return False


def _reencode(source: Image.Image, fmt: ImageFormat, *, lossless: bool) -> tuple[bytes, tuple[int, int]]:
    icc = source.info.get("icc_profile")
    transparency = source.info.get("transparency")
    image = ImageOps.exif_transpose(source)
    if fmt.name == "JPEG" and image.mode not in ("RGB", "L"):  # CMYK/YCCK: convert, profile included
        image = _to_srgb(image, icc, "RGB") if icc else image.convert("RGB")
    elif icc and image.mode in ("RGB", "RGBA"):
        image = _to_srgb(image, icc, image.mode)
    # Grey and palette images lose their profile unconverted: such profiles are rare and close to sRGB.
    # A fresh copy whose info holds nothing but transparency: the encoders read EXIF, ICC,
    # XMP, comments and text chunks from `info` when it carries them.
    clean = image.copy()
    clean.info = {"transparency": transparency} if transparency is not None and clean.mode in ("P", "L", "RGB") else {}
    out = BytesIO()
    if fmt.name == "JPEG":
        clean.save(out, "JPEG", quality=90)  # optimize=True: 8% smaller, 2.5x slower
    elif fmt.name == "PNG":
        clean.save(out, "PNG")
    elif fmt.name == "GIF":
        clean.save(out, "GIF")
    else:
        clean.save(out, "WEBP", lossless=lossless, quality=90 if not lossless else 100, method=4)
    return out.getvalue(), clean.size


def _to_srgb(image: Image.Image, icc: bytes, mode: str) -> Image.Image:
    """Convert from the embedded profile to sRGB; an unusable profile leaves pixels as they are."""
    try:
        source_profile = ImageCms.ImageCmsProfile(BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source_profile, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image.convert(mode) if image.mode != mode else image
    return converted if converted is not None else image
