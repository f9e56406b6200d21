"""Generator backends (llama.cpp, transformers, OpenAI-compatible servers).

Nothing is imported here on purpose: each backend pulls in heavy libraries lazily, and the registry
(`kb_app.registry`) finds them by "module:attribute" strings.
"""
