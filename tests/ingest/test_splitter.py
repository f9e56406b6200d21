"""The Chinese sentence splitter: sentence integrity, size bound, overlap, offsets, pages and ids."""

from __future__ import annotations

from itertools import accumulate, pairwise
from pathlib import Path

import pytest

from kb_app.ingest.splitters import ChineseSentenceSplitter, split_chinese_sentences
from kb_app.protocols import Splitter
from kb_app.schema import Chunk, SourceDocument

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
BEIJING = DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"
PROMPT_GUIDE = DOCS / "langchain-chatchat" / "test.txt"


@pytest.fixture(scope="module")
def beijing_pages() -> list[SourceDocument]:
    if not BEIJING.is_file():
        pytest.skip(f"shared test document not found: {BEIJING}")
    from kb_app.ingest.loaders.pdf import PdfLoader

    return PdfLoader().load(BEIJING, BEIJING.name)


def _doc(text: str, source: str = "a.txt", page: int | None = None) -> SourceDocument:
    return SourceDocument(text=text, source=source, page=page)


def _assert_whole_sentences(chunk: Chunk, text: str, chunk_size: int) -> None:
    """The chunk starts at a sentence start and ends at a sentence end, or lies in an oversized one."""
    sentences = split_chinese_sentences(text)
    starts = [0, *accumulate(len(s) for s in sentences)]
    start_index = max(i for i, offset in enumerate(starts) if offset <= chunk.char_start)
    if len(sentences[min(start_index, len(sentences) - 1)]) > chunk_size:
        return  # inside a sentence too long for one chunk: cut where it had to be
    assert text[starts[start_index] : chunk.char_start].strip() == ""
    end_index = min(i for i, offset in enumerate(starts) if offset >= chunk.char_end)
    if len(sentences[end_index - 1]) > chunk_size:
        return
    assert text[chunk.char_end : starts[end_index]].strip() == ""


def test_split_sentences_keeps_punctuation_and_closing_quotes() -> None:
    text = "他说：“你好！”然后走了。真的吗？？是的……好吧；见 https://a.cn/x?y=1 吧。Done. 1. 引言\n\n第二段"
    assert split_chinese_sentences(text) == [
        "他说：“你好！”",
        "然后走了。",
        "真的吗？？",
        "是的……",
        "好吧；",
        "见 https://a.cn/x?y=1 吧。",
        "Done. ",
        "1. 引言\n\n",
        "第二段",
    ]


def test_split_sentences_reproduces_real_text_exactly() -> None:
    if not PROMPT_GUIDE.is_file():
        pytest.skip(f"shared test document not found: {PROMPT_GUIDE}")
    text = PROMPT_GUIDE.read_text(encoding="utf-8")
    sentences = split_chinese_sentences(text)
    assert "".join(sentences) == text
    assert len(sentences) > 200


@pytest.mark.parametrize(("chunk_size", "chunk_overlap"), [(300, 50), (120, 40), (60, 0)])
def test_chunks_on_real_pages(
    beijing_pages: list[SourceDocument], chunk_size: int, chunk_overlap: int
) -> None:
    chunks = ChineseSentenceSplitter(chunk_size, chunk_overlap).split("kb", beijing_pages)
    by_page = {d.page: d for d in beijing_pages}
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert {c.page for c in chunks} == set(range(1, 14))
    for chunk in chunks:
        document = by_page[chunk.page]
        assert document.text[chunk.char_start : chunk.char_end] == chunk.text
        assert 0 < len(chunk.text) <= chunk_size
        assert chunk.text == chunk.text.strip()
        _assert_whole_sentences(chunk, document.text, chunk_size)
    for page, document in by_page.items():
        page_chunks = [c for c in chunks if c.page == page]
        covered = set().union(*(range(c.char_start, c.char_end) for c in page_chunks))
        assert all(i in covered for i, char in enumerate(document.text) if not char.isspace())
        for previous, following in pairwise(page_chunks):
            assert following.char_start > previous.char_start
            assert previous.char_end - following.char_start <= chunk_overlap


def test_overlap_repeats_last_whole_sentences() -> None:
    text = "".join(f"第{n:02d}句话很短。" for n in range(30))  # 8 characters per sentence
    chunks = ChineseSentenceSplitter(chunk_size=50, chunk_overlap=17).split("kb", [_doc(text)])
    assert len(chunks) > 3
    for previous, following in pairwise(chunks):
        assert len(previous.text) <= 50
        overlap = previous.text[-16:]  # two whole sentences fit in 17 characters, three do not
        assert following.text.startswith(overlap)
        assert following.char_start == previous.char_end - 16


def test_oversized_sentence_is_cut_at_commas_then_hard() -> None:
    clause = "这是一个没有句号的很长的分句"  # 14 characters
    text = "，".join([clause] * 10) + "。"
    chunks = ChineseSentenceSplitter(chunk_size=40, chunk_overlap=10).split("kb", [_doc(text)])
    assert all(len(c.text) <= 40 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    solid = "字" * 95
    hard = ChineseSentenceSplitter(chunk_size=40, chunk_overlap=10).split("kb", [_doc(solid)])
    assert [len(c.text) for c in hard] == [40, 40, 15]
    assert "".join(c.text for c in hard) == solid


def test_chunks_never_cross_documents_and_keep_metadata() -> None:
    documents = [
        SourceDocument(text="第一节的内容。" * 3, source="f.docx", heading_path=("总则",)),
        SourceDocument(text="第二节的内容。" * 3, source="f.docx", heading_path=("总则", "细则")),
        SourceDocument(text="另一个文件。", source="g.md", page=None),
    ]
    chunks = ChineseSentenceSplitter(chunk_size=300, chunk_overlap=50).split("kb", documents)
    assert [(c.source, c.heading_path, c.ordinal) for c in chunks] == [
        ("f.docx", ("总则",), 0),
        ("f.docx", ("总则", "细则"), 1),
        ("g.md", (), 0),
    ]
    assert chunks[0].text == documents[0].text


def test_ids_are_stable_and_distinct_for_duplicate_paragraphs() -> None:
    paragraph = "同一段话重复出现，内容完全一样。"
    documents = [_doc(f"{paragraph}\n{paragraph}\n{paragraph}", page=2)]
    first = ChineseSentenceSplitter(chunk_size=20, chunk_overlap=0).split("kb", documents)
    second = ChineseSentenceSplitter(chunk_size=20, chunk_overlap=0).split("kb", documents)
    assert [c.text for c in first] == [paragraph] * 3
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == 3
    other_kb = ChineseSentenceSplitter(chunk_size=20, chunk_overlap=0).split("kb2", documents)
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in other_kb}
    assert all(c.page == 2 for c in first)


def test_whitespace_only_documents_give_no_chunks() -> None:
    splitter = ChineseSentenceSplitter()
    assert splitter.split("kb", [_doc(" \n\u3000\n\t")]) == []
    assert isinstance(splitter, Splitter)


@pytest.mark.parametrize(("chunk_size", "chunk_overlap"), [(0, 0), (100, 100), (100, -1)])
def test_invalid_sizes_are_rejected(chunk_size: int, chunk_overlap: int) -> None:
    with pytest.raises(ValueError):
        ChineseSentenceSplitter(chunk_size, chunk_overlap)


def test_atomic_documents_are_one_chunk_never_split_nor_merged() -> None:
    long_answer = "这是一个很长的答案，包含很多句子。" * 50  # 850 characters, far over chunk_size
    pair = f"  问：怎么办？\n答：{long_answer}\n"
    documents = [
        SourceDocument(text=pair, source="faq.xlsx", metadata={"atomic": True}),
        SourceDocument(text="短行一。", source="faq.xlsx", metadata={"atomic": True}),
        SourceDocument(text="短行二。", source="faq.xlsx", metadata={"atomic": True}),
        SourceDocument(text=long_answer, source="faq.xlsx", metadata={"atomic": False}),
        SourceDocument(text=" \n ", source="faq.xlsx", metadata={"atomic": True}),
    ]
    chunks = ChineseSentenceSplitter(chunk_size=100, chunk_overlap=20).split("kb", documents)
    assert chunks[0].text == f"问：怎么办？\n答：{long_answer}"
    assert (chunks[0].char_start, chunks[0].char_end) == (2, 2 + len(chunks[0].text))
    assert [c.text for c in chunks[1:3]] == ["短行一。", "短行二。"]
    assert len(chunks) > 4 and all(len(c.text) <= 100 for c in chunks[3:])  # not atomic: split as usual
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
