"""BM25 keyword search over jieba tokens, with each query's scores normalised to 0..1.

Why this normalisation: bm25s's default "lucene" scoring gives a matching term
idf(t) * tf / (tf + k1 * (1 - b + b * doc_len / avg_len)), whose tf part stays below 1. So no document
can score more than the sum of idf(t) over the query's distinct in-vocabulary terms. A hit's raw score
divided by that bound is in [0, 1), comes close to 1 only for a short document holding every query
term, and unlike dividing by the best hit it does not call a weak best match "1.0".
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.errors import IndexInconsistent
from kb_app.vectorstores.atomic import fsync_directory, fsync_file, write_bytes_atomically

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOKENIZER_VERSION = 2  # bump whenever tokenisation changes: saved indexes then count as stale
MANIFEST_FILE = "manifest.json"
IDS_FILE = "ids.npy"
DATA_PREFIX = "bm25-"
K1 = 1.5
B = 0.75

# Function words and question words that carry no topic. Short on purpose: idf already discounts common
# words; these are the ones that would match nearly every chunk or inflate a question's score bound.
_CHINESE_STOP_WORDS = "的 地 得 了 着 过 是 在 和 与 及 或 而 也 就 都 被 把 这 那 之 其 吗 呢 吧 啊"
_QUESTION_WORDS = "什么 怎么 如何 哪些 哪个 为什么 多少 请问"
_ENGLISH_STOP_WORDS = "the a an of to in on at by for with and or is are was were be it this that as from"
STOP_WORDS = frozenset(f"{_CHINESE_STOP_WORDS} {_QUESTION_WORDS} {_ENGLISH_STOP_WORDS}".split(" "))


def normalise_text(text: str) -> str:
    """Fold look-alike characters before tokenising.

    NFKC maps full-width latin and digits to ASCII, and Kangxi radicals and CJK compatibility ideographs
    (frequent in PDF text) to ordinary characters.
    """
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@dataclass(frozen=True)
class Tokenizer:
    """How text becomes BM25 words. `mode`: jieba "search" (words plus their sub-words: 中华人民共和国
    also yields 中华, 人民, 共和国) or "precise" (one segmentation). `simplify`: convert traditional to
    simplified characters first (OpenCC t2s), so 臺灣的經濟 matches 台湾的经济 in mixed-script KBs."""

    mode: str = "search"
    simplify: bool = True

    def __call__(self, text: str) -> list[str]:
        return tokenize_chinese(text, self.mode, self.simplify)

    def fold(self, text: str) -> str:
        """Text as the tokenizer sees it, without whitespace: where query words are looked up."""
        text = normalise_text("".join(text.split())).lower()
        return _t2s().convert(text) if self.simplify else text


def tokenize_chinese(text: str, mode: str = "search", simplify: bool = True) -> list[str]:
    """Split mixed Chinese/latin text into lower-cased search tokens (see `Tokenizer`).

    Whitespace- or punctuation-only tokens and `STOP_WORDS` are dropped.
    """
    import jieba

    jieba.setLogLevel(logging.WARNING)  # silences "Building prefix dict ..." on first use
    text = normalise_text(text)
    if simplify:
        text = _t2s().convert(text)
    cut = jieba.lcut_for_search if mode == "search" else jieba.lcut
    tokens = []
    for raw in cut(text):
        token = raw.strip().lower()
        if token and token not in STOP_WORDS and any(ch.isalnum() for ch in token):
            tokens.append(token)
    return tokens


def fingerprint_of_ids(ids: Sequence[int]) -> str:
    """An order-independent digest of chunk ids; ids derive from content, so it tracks the chunk set."""
    ordered = np.sort(np.asarray(ids, dtype=np.int64))
    return hashlib.blake2b(ordered.tobytes(), digest_size=16).hexdigest()


def _import_bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import; keep it quiet
    return bm25s


class KeywordIndex:
    """A BM25 index mapping int64 chunk ids to keyword relevance. Build with `build`, reopen with `load`."""

    def __init__(
        self,
        ids: np.ndarray,
        retriever: Any | None,
        fingerprint: str = "",
        tokenizer: Tokenizer | None = None,
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self._ids = np.asarray(ids, dtype=np.int64)
        self._retriever = retriever
        self.fingerprint = fingerprint
        self._idf = np.zeros(0)
        if retriever is not None:
            # The CSC matrix has one column per token with one entry per document containing it.
            doc_freq = np.diff(np.asarray(retriever.scores["indptr"], dtype=np.float64))
            n_docs = float(retriever.scores["num_docs"])
            self._idf = np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))  # bm25s's "lucene" idf

    @classmethod
    def build(
        cls,
        ids: Sequence[int],
        texts: Sequence[str],
        fingerprint: str = "",
        tokenizer: Tokenizer | None = None,
    ) -> KeywordIndex:
        """Tokenise `texts` and index them under `ids` (unique, same length as `texts`)."""
        tokenizer = tokenizer or Tokenizer()
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(id_array) != len(texts):
            raise ValueError(f"Got {len(id_array)} ids for {len(texts)} texts.")
        if len(np.unique(id_array)) != len(id_array):
            raise ValueError("Keyword index ids must be unique.")
        corpus_tokens = [tokenizer(text) for text in texts]
        if not any(corpus_tokens):
            return cls(id_array, None, fingerprint, tokenizer)
        retriever = _import_bm25s().BM25(k1=K1, b=B, method="lucene", backend="numpy")
        retriever.index(corpus_tokens, show_progress=False)
        return cls(id_array, retriever, fingerprint, tokenizer)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, score in 0..1) pairs, best first; only documents sharing a query term."""
        scored = self._score(query)
        if scored is None:
            return []
        raw, bound = scored
        return [(i, min(1.0, s / bound)) for i, s in self._top(raw, k)]

    def search_raw(self, query: str, k: int) -> list[tuple[int, float]]:
        """Like `search` with raw BM25 scores (diagnostics: not comparable across queries)."""
        scored = self._score(query)
        return [] if scored is None else self._top(scored[0], k)

    def _score(self, query: str) -> tuple[np.ndarray, float] | None:
        if self._retriever is None:
            return None
        vocab = self._retriever.vocab_dict
        terms = self.query_terms(query)
        token_ids = sorted({vocab[t] for t, _ in terms if t in vocab})
        if not token_ids:
            return None
        raw = np.asarray(self._retriever.get_scores_from_ids(token_ids), dtype=np.float64)
        return raw, sum(weight for _, weight in terms)

    def query_terms(self, query: str) -> list[tuple[str, float]]:
        """The query's distinct words with their idf, rarest-possible idf for words the KB never uses.

        Distinct: a repeated query word must not push a score past the bound. An unseen word still counts,
        weighted like the rarest word: "火星的天气" matching only "天气" must score low, since the KB knows
        nothing of 火星.
        """
        if self._retriever is None:
            return []
        vocab = self._retriever.vocab_dict
        n_docs = float(self._retriever.scores["num_docs"])
        unseen_idf = float(np.log1p((n_docs - 0.5) / 1.5))
        return [
            (t, float(self._idf[vocab[t]]) if t in vocab else unseen_idf)
            for t in sorted(set(self.tokenizer(query)))
        ]

    def _top(self, raw: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, raw.size)
        if k <= 0:
            return []
        candidates = np.argpartition(-raw, k - 1)[:k]
        order = candidates[np.lexsort((candidates, -raw[candidates]))]
        return [(int(self._ids[j]), float(raw[j])) for j in order if raw[j] > 0]

    def save(self, directory: Path) -> None:
        """Write the index under `directory` crash-safely.

        Each save goes to a new `bm25-*` folder; `manifest.json`, replaced atomically, names the live one.
        A crash at any point leaves the previous manifest pointing at the previous, complete folder.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # One saver at a time per directory (threads and processes): each save removes the folders it
        # replaces, which must never be a folder another saver is still writing.
        with open(directory / ".save.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._save_locked(directory)

    def _save_locked(self, directory: Path) -> None:
        data_name = f"{DATA_PREFIX}{time.time_ns():x}"
        data_dir = directory / data_name
        data_dir.mkdir()
        np.save(data_dir / IDS_FILE, self._ids, allow_pickle=False)
        if self._retriever is not None:
            self._retriever.save(data_dir, show_progress=False)
        for path in data_dir.iterdir():
            fsync_file(path)
        fsync_directory(data_dir)
        manifest = {
            "format_version": FORMAT_VERSION,
            "tokenizer_version": TOKENIZER_VERSION,
            "fingerprint": self.fingerprint,
            "data": data_name,
            "count": len(self._ids),
            "has_bm25": self._retriever is not None,
            "tokenizer": asdict(self.tokenizer),
        }
        write_bytes_atomically(directory / MANIFEST_FILE, json.dumps(manifest, indent=2).encode())
        for stale in directory.glob(f"{DATA_PREFIX}*"):
            if stale.name != data_name:
                shutil.rmtree(stale, ignore_errors=True)

    @staticmethod
    def saved_fingerprint(directory: Path) -> str | None:
        """The fingerprint of the index saved in `directory`, or None if there is none usable."""
        try:
            manifest = _read_manifest(Path(directory))
        except IndexInconsistent:
            return None
        return str(manifest["fingerprint"])

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        """Reopen an index written by `save`.

        Raises:
            IndexInconsistent: missing, damaged or outdated index; it can be rebuilt from the catalog.
        """
        directory = Path(directory)
        manifest = _read_manifest(directory)
        data_dir = directory / str(manifest["data"])
        try:
            ids = np.load(data_dir / IDS_FILE, allow_pickle=False)
            retriever = _import_bm25s().BM25.load(data_dir) if manifest["has_bm25"] else None
            if retriever is not None and retriever.scores["num_docs"] != len(ids):
                raise ValueError("ids and BM25 matrix disagree on the number of documents")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexInconsistent(
                f"The keyword index in {directory} is damaged ({exc}). It can be rebuilt from the catalog."
            ) from exc
        return cls(ids, retriever, str(manifest["fingerprint"]), Tokenizer(**manifest.get("tokenizer", {})))


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        outdated = (
            manifest["format_version"] != FORMAT_VERSION or manifest["tokenizer_version"] != TOKENIZER_VERSION
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexInconsistent(
            f"No readable keyword index in {directory} ({exc}). It can be rebuilt from the catalog."
        ) from exc
    if outdated:
        raise IndexInconsistent(
            f"The keyword index in {directory} was written by another kb-app version. "
            "It can be rebuilt from the catalog."
        )
    return dict(manifest)
