"""indexer: syntax-aware chunks, offline embeddings, hybrid retrieval in ChromaDB, kept live
by watchdog. Import cost is small: ChromaDB, tree-sitter and the model load on first use."""

from greenpatch.indexer.index import WorkspaceIndex
from greenpatch.indexer.types import Chunk, IndexStats, SearchResult

__all__ = ["Chunk", "IndexStats", "SearchResult", "WorkspaceIndex"]
