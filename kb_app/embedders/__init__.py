"""Embedders behind the `kb_app.protocols.Embedder` Protocol; found by name in `kb_app.registry`."""
