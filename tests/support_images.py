"""Images made for tests, carrying the metadata a phone or an editor would leave in them."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageCms, PngImagePlugin

GPS_IFD = 0x8825
ORIENTATION = 0x0112
CAMERA_MAKE = "PrivateCam"  # EXIF Make: must never survive
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N"'
    b' exif:GPSLongitude="13,24.6E"/></rdf:RDF></x:xmpmeta>'
)
COMMENT = b"sent by jane.doe@example.com from 221B Baker Street"
# Berlin, Alexanderplatz: degrees, minutes, seconds
GPS = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 36.0), 6: 34.0}


def two_halves(width: int = 64, height: int = 32, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation mistakes are visible in the pixels."""
    image = Image.new(mode, (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def exif_bytes(orientation: int = 1, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = dict(GPS)
    return exif.tobytes()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_gps(width: int = 64, height: int = 32, orientation: int = 6) -> bytes:
    """A JPEG with EXIF (GPS, camera make, orientation), XMP with GPS, an ICC profile and a comment."""
    out = BytesIO()
    two_halves(width, height).save(
        out,
        "JPEG",
        quality=95,
        exif=exif_bytes(orientation),
        xmp=XMP,
        icc_profile=srgb_icc(),
        comment=COMMENT,
    )
    return out.getvalue()


def png_with_metadata(width: int = 48, height: int = 24, mode: str = "RGBA") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", COMMENT.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = BytesIO()
    two_halves(width, height, mode).save(out, "PNG", pnginfo=info, exif=exif_bytes(), icc_profile=srgb_icc())
    return out.getvalue()


def webp_with_metadata(width: int = 40, height: int = 20, lossless: bool = False) -> bytes:
    out = BytesIO()
    two_halves(width, height).save(out, "WEBP", exif=exif_bytes(), xmp=XMP, lossless=lossless, quality=90)
    return out.getvalue()


def animated_gif(frames: int = 3, width: int = 30, height: int = 20) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", (width, height), colours[i % len(colours)]).convert("P") for i in range(frames)]
    out = BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0, comment=COMMENT)
    return out.getvalue()


def sized_jpeg(target_bytes: int, seed: int = 0) -> bytes:
    """A JPEG of roughly `target_bytes` (noise compresses badly, so size tracks pixel count)."""
    import random

    rng = random.Random(seed)
    side = max(16, int((target_bytes / 1.1) ** 0.5))
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif_bytes())
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
