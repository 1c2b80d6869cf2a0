"""The output directory: written to a staging directory beside it, then swapped in atomically.

docstore.json is streamed in SimpleDocumentStore's layout (`docstore/data`, `docstore/metadata`,
`docstore/ref_doc_info`): each section goes to its own part file while conversations stream by,
and the parts are concatenated at the end, so memory stays flat. One record per line keeps the
file diffable and lets the privacy audit read it line by line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from opsdata.etl.chatwoot.corpus import BuiltConversation, dumps_node, node_hash

_TYPE_CODE = {"TextNode": "1", "ImageNode": "2", "Document": "4"}
STAGING_PREFIX = ".staging-"
CORPUS_FILES = ("docstore.json", "nodes.jsonl", "quarantine.jsonl")


_dumps = dumps_node
_PLAIN_RE = re.compile(r'[^"\\\x00-\x1f]*')  # nothing json.dumps(ensure_ascii=False) escapes


def _json_string(text: str) -> str:
    """A string as JSON, as _dumps writes it; ids need no escaping, so no encoder call."""
    return f'"{text}"' if _PLAIN_RE.fullmatch(text) else _dumps(text)


class OutputWriter:
    """Writes one run's files under `<out>/../.staging-<name>-<pid>`; `commit` swaps them into `out`."""

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_staging(self.out)
        self.staging = self.out.parent / f"{STAGING_PREFIX}{self.out.name}-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()
        (self.staging / "images").mkdir()
        self._data = (self.staging / ".data.part").open("w", encoding="utf-8")
        self._meta = (self.staging / ".metadata.part").open("w", encoding="utf-8")
        self._refs = (self.staging / ".refs.part").open("w", encoding="utf-8")
        self._nodes = (self.staging / "nodes.jsonl").open("w", encoding="utf-8")
        self._quarantine = (self.staging / "quarantine.jsonl").open("w", encoding="utf-8")
        self._first = {"data": True, "meta": True, "refs": True}
        self.n_nodes = {"Document": 0, "TextNode": 0, "ImageNode": 0}

    def _entry(self, handle: IO[str], section: str, key: str, value: Any) -> None:
        handle.write(("" if self._first[section] else ",\n") + _json_string(key) + ": " + _dumps(value))
        self._first[section] = False

    def add(self, built: BuiltConversation) -> None:
        self._write(built.doc_id, built.nodes, built.lines, built.node_hashes)

    def add_nodes(self, doc_id: str, nodes: list[dict[str, Any]]) -> None:
        """One conversation's node dicts (Document first), e.g. read back from a nodes.jsonl."""
        self._write(doc_id, nodes, [_dumps(node) for node in nodes], [node_hash(node) for node in nodes])

    def _write(self, doc_id: str, nodes: list[dict[str, Any]], lines: list[str], hashes: list[str]) -> None:
        """Nodes with their serialised JSON lines and LlamaIndex hashes, worked out once by the caller.
        Each file gets one write per conversation."""
        if not nodes:
            return
        children: list[str] = []
        first_child_metadata: dict[str, Any] | None = None
        data: list[str] = []
        meta: list[str] = []
        n_nodes = self.n_nodes
        for node, line, doc_hash in zip(nodes, lines, hashes, strict=True):
            cls = node["class_name"]
            n_nodes[cls] += 1
            key = _json_string(node["id_"])
            # the same text as _dumps({"__data__": node, "__type__": …}), without serialising again
            data.append(f'{key}: {{"__data__": {line}, "__type__": "{_TYPE_CODE[cls]}"}}')
            # {"doc_hash": …, "ref_doc_id": …} as _dumps writes it (both are plain strings)
            source = node["relationships"].get("1")
            if source:
                meta.append(f'{key}: {{"doc_hash": "{doc_hash}", "ref_doc_id": {_json_string(source["node_id"])}}}')
                children.append(node["id_"])
                if first_child_metadata is None:
                    first_child_metadata = node["metadata"]
            else:
                meta.append(f'{key}: {{"doc_hash": "{doc_hash}"}}')
        self._nodes.write("\n".join(lines) + "\n")
        self._data.write(("" if self._first["data"] else ",\n") + ",\n".join(data))
        self._meta.write(("" if self._first["meta"] else ",\n") + ",\n".join(meta))
        self._first["data"] = self._first["meta"] = False
        if children:
            self._entry(self._refs, "refs", doc_id, {"node_ids": children, "metadata": first_child_metadata})

    def quarantine(self, record: dict[str, Any]) -> None:
        self._quarantine.write(_dumps(record) + "\n")

    def finish(self, manifest: dict[str, Any]) -> None:
        """Close the parts, assemble docstore.json and write manifest.json (still in staging)."""
        for handle in (self._data, self._meta, self._refs, self._nodes, self._quarantine):
            handle.close()
        target = self.staging / "docstore.json"
        with target.open("w", encoding="utf-8") as out:
            for i, (section, part) in enumerate(
                (
                    ("docstore/data", ".data.part"),
                    ("docstore/metadata", ".metadata.part"),
                    ("docstore/ref_doc_info", ".refs.part"),
                )
            ):
                out.write(("{" if i == 0 else ",\n") + _dumps(section) + ": {\n")
                with (self.staging / part).open(encoding="utf-8") as handle:
                    shutil.copyfileobj(handle, out)
                out.write("\n}")
                (self.staging / part).unlink()
            out.write("}\n")
        (self.staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        """Swap the staging directory in: rename the old output aside, rename staging, delete the old."""
        old = self.out.parent / f"{STAGING_PREFIX}{self.out.name}-old-{os.getpid()}"
        if self.out.exists():
            os.replace(self.out, old)
        os.replace(self.staging, self.out)
        if old.exists():
            shutil.rmtree(old)

    def discard(self) -> None:
        for handle in (self._data, self._meta, self._refs, self._nodes, self._quarantine):
            if not handle.closed:
                handle.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def clean_stale_staging(out: Path) -> None:
    """Remove staging directories of killed runs (their process is gone)."""
    prefix = f"{STAGING_PREFIX}{out.name}-"
    for path in out.parent.glob(f"{prefix}*"):
        pid = path.name[len(prefix) :].removeprefix("old-")
        if pid.isdigit() and not _alive(int(pid)):
            if path.name.startswith(f"{prefix}old-") and not out.exists():
                os.replace(path, out)  # killed between the two renames: the old output is the output
            else:
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def corpus_digest(directory: Path) -> str:
    """sha256 of the corpus files and image names: equal digests mean an identical output."""
    import hashlib

    digest = hashlib.sha256()
    for name in CORPUS_FILES:
        path = directory / name
        digest.update(name.encode() + b"\0")
        if path.exists():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    images = directory / "images"
    if images.is_dir():
        for path in sorted(images.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
    return digest.hexdigest()


def iter_json_strings(value: Any) -> Iterator[tuple[str, str]]:
    """(path, string) for every string in a JSON value, keys included."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield f"{path}.{key}" if path else str(key), str(key)
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            for i, child in enumerate(item):
                stack.append((f"{path}[{i}]", child))
