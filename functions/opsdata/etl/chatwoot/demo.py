"""`opsdata demo` step for the Chatwoot ETL: the demo shop's support history goes through the real ETL.

A generated export (opsdata.etl.chatwoot.generator) of DEMO_CONVERSATIONS conversations over the demo
shop's period is written to `<local dir>/demo/chatwoot/export.json` and run through
`run_chatwoot_etl` into the database and `<local dir>/demo/chatwoot/rag/`. Its image attachments are
downloaded for real, from a loopback HTTP server that lives only for the step. Registered in
opsdata.demo.commands.DEMO_STEPS.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsdata.demo.commands import DemoContext
    from opsdata.etl.chatwoot.pipeline import EtlSummary

# The generator breaks every 50th record (quarantined); with 640 the newest conversation is whole,
# so the data is as recent as the demo shop's.
DEMO_CONVERSATIONS = 640
DEMO_SEED = 20261129
# The downloader refuses loopback and private addresses (a link in a message must never reach this
# machine's own services). The demo lifts that for its own image server only, the same explicit
# opt-in as `--allow-host` (a self-hosted Chatwoot on a private network); the default is unchanged.
DEMO_ALLOW_HOSTS = ("127.0.0.1",)
_IMAGE_PATH = re.compile(r"^/images/(img-\d+-\d+\.png)$")  # the generator's image names


def demo_folder(local_dir: Path) -> Path:
    return local_dir / "demo" / "chatwoot"


def demo_image(name: str) -> bytes:
    """A small screenshot-like PNG, different for each name, with a text chunk the ETL must strip."""
    from PIL import Image, ImageDraw, PngImagePlugin

    digest = hashlib.sha256(name.encode()).digest()
    image = Image.new("RGB", (160, 100), (246, 246, 246))
    draw = ImageDraw.Draw(image)
    for i in range(4):  # a few coloured "widgets" placed by the digest
        x, y, colour = digest[i] % 120, digest[i + 4] % 70, tuple(digest[i + 8 : i + 11])
        draw.rectangle((x, y, x + 40, y + 24), fill=colour)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"uploaded from a phone ({name})")
    out = BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


class DemoImageServer:
    """Serves the export's images on 127.0.0.1 (a free port) while the context is open.

    Only names put in `names` are served; anything else is a 404.
    """

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.served = 0  # images sent (a re-run finds them stored and downloads none)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                match = _IMAGE_PATH.match(self.path)
                if not match or match.group(1) not in server.names:
                    self.send_error(404)
                    return
                body = demo_image(match.group(1))
                server.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet: the demo prints its own summary
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="demo-images", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, names: Iterable[str]) -> None:
        self.names.update(names)

    def __enter__(self) -> DemoImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def conversation_times(as_of: datetime, days: int, n: int = DEMO_CONVERSATIONS) -> tuple[int, int]:
    """(first created_at, spacing) for n conversations spread over the `days` before `as_of`.

    The last one starts two hours before `as_of`, so the data is as fresh as the demo shop's orders
    and the same day gives the same export (a second `make demo` changes nothing).
    """
    spacing = days * 86_400 // n
    return int(as_of.timestamp()) - 7_200 - (n - 1) * spacing, spacing


def run_demo_etl(shop: str, database_url: str, folder: Path, as_of: datetime, days: int) -> tuple[EtlSummary, int]:
    """Write the export, serve its images, run the ETL; returns its summary and the images served."""
    from opsdata.etl.chatwoot.generator import write_export
    from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl

    first, spacing = conversation_times(as_of, days)
    with DemoImageServer() as server:
        export = write_export(
            folder / "export.json",
            DEMO_CONVERSATIONS,
            seed=DEMO_SEED,
            image_base_url=f"{server.base_url}/images",
            first_created_at=first,
            spacing=spacing,
        )
        server.serve(export.images)
        options = EtlOptions(input=str(export.path), shop=shop, out=folder / "rag", allow_hosts=list(DEMO_ALLOW_HOSTS))
        return run_chatwoot_etl(options, database_url=database_url), server.served


def _shown(path: Path) -> Path:
    """The path relative to the working directory when inside it (`make demo` runs in the checkout)."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def step_chatwoot(ctx: DemoContext) -> None:
    """Run the Chatwoot ETL on the demo shop's generated support history; print its summary."""
    from opsdata.cli import _console, _fail
    from opsdata.core.settings import get_settings
    from opsdata.demo.generator import DemoParams
    from opsdata.etl.chatwoot.audit import PrivacyAuditError
    from opsdata.etl.chatwoot.commands import summary_table
    from opsdata.etl.chatwoot.reader import InputError

    params = DemoParams(shop=ctx.shop)  # the demo shop's period: conversations end with its orders
    folder = _shown(demo_folder(get_settings().local_dir))
    console = _console()
    console.print()
    console.print(
        f"support history: {DEMO_CONVERSATIONS} generated Chatwoot conversations (seed {DEMO_SEED}) through the"
        " Chatwoot ETL, images downloaded from a loopback server started for this step"
    )
    try:
        summary, served = run_demo_etl(ctx.shop, ctx.url, folder, params.as_of, params.days)
    except (InputError, PrivacyAuditError, OSError) as exc:
        _fail(f"the Chatwoot ETL failed: {exc}")
        return
    console.width = max(console.width, 100)
    console.print(summary_table(summary))
    rag = folder / "rag"
    stored = summary.images.get("ok", 0)
    console.print(f"  export: {folder / 'export.json'}")
    console.print(f"  corpus: {rag}/ (load {rag}/docstore.json with llama-index-core's SimpleDocumentStore)")
    reused = f"{stored - served:,} already stored by an earlier run" if stored > served else "none stored before"
    console.print(f"  images: {stored:,} in {rag}/images: {served:,} downloaded by this run, {reused}")
    console.print(f"  your own export: opsdata etl chatwoot EXPORT.json --shop {ctx.shop} --out out/rag")
