"""HTML loader: main-content fidelity on real Chinese news pages, charsets, headings and tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.html_loader import HtmlLoader, decode_html

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
READABILITY = DOCS / "readability"
CHARDET = DOCS / "encodings" / "chardet"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test document not found: {path}")
    return path


def char_f1(predicted: str, expected: str) -> float:
    """F1 of the multisets of non-whitespace characters (order-free, so insensitive to block order)."""
    ours = Counter(char for char in predicted if not char.isspace())
    theirs = Counter(char for char in expected if not char.isspace())
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


def _load(path: Path) -> str:
    return "\n".join(document.text for document in HtmlLoader().load(path, path.name))


@pytest.mark.parametrize("page", ["gmw", "qq", "youth"])
def test_main_content_matches_readability_expectation(page: str) -> None:
    from bs4 import BeautifulSoup

    source = need(READABILITY / page / "source.html")
    expected = BeautifulSoup((READABILITY / page / "expected.html").read_text("utf-8"), "lxml").get_text()
    ours = char_f1(_load(source), expected)
    soup = BeautifulSoup(source.read_text("utf-8"), "lxml")
    for hidden in soup(["script", "style", "noscript"]):
        hidden.decompose()
    assert ours >= 0.9
    assert ours > char_f1(soup.get_text(), expected) + 0.05  # better than keeping all visible text


def test_title_is_the_h1_without_site_suffix() -> None:
    path = need(READABILITY / "gmw" / "source.html")
    documents = HtmlLoader().load(path, path.name)
    assert {d.heading_path for d in documents} == {("宇航员在太空中喝酒会怎么样？后果很严重",)}
    assert documents[0].text.startswith("宇航员在太空中喝酒会怎么样？后果很严重\n")
    assert all(d.page is None and d.metadata["encoding"] == "utf-8" for d in documents)


def test_qq_page_declares_gb2312_but_is_utf8() -> None:
    path = need(READABILITY / "qq" / "source.html")
    assert b"charset=gb2312" in path.read_bytes()[:2000]
    text = _load(path)
    assert "DeepMind表示，这款名为DNC（可微神经计算机）的AI模型" in text
    assert "\ufffd" not in text


def test_small_page_sections_tables_and_code() -> None:
    path = need(DOCS / "weknora" / "test.html")
    documents = loader_for(path).load(path, path.name)
    paths = [d.heading_path for d in documents]
    assert paths[0] == ("测试 HTML 文档",)
    assert ("测试 HTML 文档", "包含表格") in paths and ("测试 HTML 文档", "测试重叠功能") in paths
    assert ("测试 HTML 文档", "包含图片") not in paths  # a heading with only an image under it
    table = documents[paths.index(("测试 HTML 文档", "包含表格"))].text
    assert table.split("\n") == ["包含表格", "表头1：内容1；表头2：内容2", "表头1：内容3；表头2：内容4"]
    code = documents[paths.index(("测试 HTML 文档", "包含代码块"))].text
    assert 'def hello_world():\n    print("Hello, World!")' in code


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("Big5/_chromium_Big5_with_no_encoding_specified.html", "台北看守所昨天抽查前總統陳水扁的房舍"),
        ("GB2312/_mozilla_bug171813_text.html", "魔力宝贝"),
        ("GB2312/_chromium_gb18030_with_no_encoding_specified.html.xml", "中国制造的领军者"),
    ],
)
def test_undeclared_big5_and_gb_pages(name: str, phrase: str) -> None:
    text = _load(need(CHARDET / name))
    assert phrase in text
    assert "\ufffd" not in text


def test_declared_charset_is_honoured_for_non_utf8_bytes() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    page = f"<html><head>{meta}</head><p>简体中文内容，用来测试编码声明。</p></html>"
    assert decode_html(page.encode("gbk")) == (page, "gb18030")
    big5 = "<html><head><meta charset='big5'></head><p>繁體中文內容，測試編碼。</p></html>"
    assert decode_html(big5.encode("big5")) == (big5, "cp950")
    # Bytes that are valid UTF-8 beat a stale declaration.
    assert decode_html(page.encode("utf-8"))[1] == "utf-8"


def test_boilerplate_is_dropped_and_sections_follow_headings(tmp_path: Path) -> None:
    paragraph = (
        "<p>"
        + "知识库问答系统需要从网页中抽取正文，去掉导航菜单、广告和页脚等与内容无关的部分。" * 3
        + "</p>"
    )
    html = (
        "<html><head><title>正文抽取说明_帮助中心_示例网</title></head><body>"
        "<nav><a href='/'>首页</a><a href='/news'>新闻中心</a><a href='/about'>关于我们</a></nav>"
        f"<article><h1>正文抽取说明</h1>{paragraph}<h2>第一节 背景</h2>{paragraph}"
        f"<h3>细节</h3>{paragraph}<h2>第二节 方法</h2><p>按标题\n    切分章节。</p>{paragraph}</article>"
        "<footer>版权所有 © 示例网 京ICP备00000000号</footer></body></html>"
    )
    path = tmp_path / "help.html"
    path.write_text(html, encoding="utf-8")
    documents = HtmlLoader().load(path, "help.html")
    assert [d.heading_path for d in documents] == [
        ("正文抽取说明",),
        ("正文抽取说明", "第一节 背景"),
        ("正文抽取说明", "第一节 背景", "细节"),
        ("正文抽取说明", "第二节 方法"),
    ]
    text = "\n".join(d.text for d in documents)
    assert "新闻中心" not in text and "版权所有" not in text
    assert "按标题切分章节。" in text  # a source line break inside Chinese is not a space


def test_empty_and_binary_pages(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><head><script>var a = 1;</script></head><body>  </body></html>", encoding="utf-8")
    with pytest.raises(EmptyDocument):
        HtmlLoader().load(empty, empty.name)
    binary = tmp_path / "binary.html"
    binary.write_bytes(b"\x00\x01\x02\x03" * 500)
    with pytest.raises(CorruptDocument):
        HtmlLoader().load(binary, binary.name)


def test_html_is_sniffed_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "saved_page"
    path.write_text("<!DOCTYPE html><html><body><p>网页内容</p></body></html>", encoding="utf-8")
    assert isinstance(loader_for(path), HtmlLoader)
    notes = tmp_path / "notes.md"
    notes.write_text("<html> 写在 Markdown 里的 HTML 源码", encoding="utf-8")
    assert not isinstance(loader_for(notes), HtmlLoader)


def test_a_logo_h1_is_not_taken_for_the_title(tmp_path: Path) -> None:
    body = "<p>" + "这是一篇足够长的新闻正文，用来测试标题的选择。" * 5 + "</p>"
    title = "宇航员在太空中喝酒会怎么样？后果很严重"
    head = f"<html><head><title>{title}_探索者_光明网</title></head><body><header><h1>光明网</h1></header>"
    path = tmp_path / "news.html"
    path.write_text(f"{head}<article>{body}</article></body></html>", encoding="utf-8")
    [document] = HtmlLoader().load(path, path.name)
    assert document.heading_path == (f"{title}_探索者_光明网",)
    path.write_text(
        f"{head}<article><header><h1>{title}</h1></header>{body}</article></body></html>", "utf-8"
    )
    [document] = HtmlLoader().load(path, path.name)
    assert document.heading_path == (title,)
