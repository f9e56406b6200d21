"""Splitters cut SourceDocuments into Chunks."""

from kb_app.ingest.splitters.chinese import ChineseSentenceSplitter, split_chinese_sentences

__all__ = ["ChineseSentenceSplitter", "split_chinese_sentences"]
