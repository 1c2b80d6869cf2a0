"""The output loads with stock llama-index-core and builds a vector index offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsdata.etl.chatwoot.generator import write_export
from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl
from tests_etl_support import LocalImages

llama = pytest.importorskip("llama_index.core")


def test_stock_llama_index_loads_the_corpus_and_retrieves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.schema import Document, ImageNode, MetadataMode, TextNode
    from llama_index.core.storage.docstore import SimpleDocumentStore

    export = write_export(tmp_path / "export.json", 60, seed=9, image_base_url="http://127.0.0.1:9/img")
    out = tmp_path / "rag"
    run_chatwoot_etl(
        EtlOptions(input=str(export.path), shop="compat.myshopify.com", out=out, database=False),
        fetcher=LocalImages(),
    )
    monkeypatch.chdir(out)  # image paths are relative to the output directory
    store = SimpleDocumentStore.from_persist_path(str(out / "docstore.json"))
    nodes = list(store.docs.values())
    assert nodes and all(isinstance(n, Document | TextNode | ImageNode) for n in nodes)
    assert any(isinstance(n, ImageNode) for n in nodes)
    for node in nodes:
        assert node.get_content(MetadataMode.EMBED).strip(), node.node_id
        assert type(node).from_dict(node.to_dict()).hash == node.hash
        assert store.get_document_hash(node.node_id) == node.hash
        for related in node.relationships.values():
            for info in related if isinstance(related, list) else [related]:
                assert info.node_id in store.docs
        if isinstance(node, ImageNode):
            assert node.source_node is not None and node.image_path and os.path.exists(node.image_path)
            assert "Image sent by" in node.text
    # ids and timestamps stay out of the embedding text
    turn = next(n for n in nodes if isinstance(n, TextNode) and not isinstance(n, ImageNode))
    embed_text = turn.get_content(MetadataMode.EMBED)
    assert "conversation_id" not in embed_text and "_ts" not in embed_text and "channel:" in embed_text

    searchable = [n for n in nodes if not isinstance(n, Document)]
    index = VectorStoreIndex(searchable, embed_model=MockEmbedding(embed_dim=8))
    hits = index.as_retriever(similarity_top_k=1).retrieve("order")
    assert hits and hits[0].node.node_id in store.docs

    documents = [n for n in nodes if isinstance(n, Document)]
    pipeline = IngestionPipeline(transformations=[], docstore=SimpleDocumentStore())
    assert len(pipeline.run(documents=documents)) == len(documents)
    assert pipeline.run(documents=documents) == [], "a re-run over the same documents adds nothing"
