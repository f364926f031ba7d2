"""indexer: syntax-aware chunks, offline embeddings, hybrid retrieval in ChromaDB, kept
live by watchdog."""
