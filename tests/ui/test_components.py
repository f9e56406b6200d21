"""The UI's pure helpers: strings, escaping, formatting, highlighting and the job list's arithmetic."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from kb_app.schema import Citation
from kb_app.ui import components, jobs_view
from kb_app.ui.highlight import HIGHLIGHT_OPEN, highlight_markdown, match_spans, query_terms
from kb_app.ui.i18n import STRINGS, role_label, status_label, t

HOSTILE = "<script>alert(1)</script>"


def test_lookup_falls_back_to_chinese_then_to_the_key(monkeypatch):
    monkeypatch.setitem(STRINGS, "only_zh", {"zh": "只有中文"})
    assert t("nav_chat", "en") == "Chat"
    assert t("only_zh", "en") == "只有中文"
    assert t("nav_chat", "fr") == "问答"
    assert t("no_such_key", "en") == "no_such_key"
    assert t("page", "zh", page=3) == "第3页"


def test_every_string_has_chinese_and_english_with_the_same_placeholders():
    missing = [key for key, entry in STRINGS.items() if not entry.get("zh") or not entry.get("en")]
    assert missing == []
    fields = re.compile(r"\{(\w+)\}")
    differ = [k for k, e in STRINGS.items() if set(fields.findall(e["zh"])) != set(fields.findall(e["en"]))]
    assert differ == []


def test_status_and_role_labels_translate_known_and_keep_unknown():
    assert status_label("done") == "完成"
    assert status_label("embedding", "en") == "embedding"
    assert status_label("weird") == "weird"
    assert role_label("admin") == "管理员"
    assert role_label("viewer", "en") == "viewer"


def test_citation_title_has_file_page_and_two_decimal_score():
    cite = Citation(source="手册.pdf", page=3, chunk_id="c1", score=0.87654, text="正文")
    assert components.citation_title(cite, 2, "zh") == "[2] 手册.pdf · 第3页 · 相关度 0.88"
    no_page = Citation(source="说明.txt", page=None, chunk_id="c2", score=0.5, text="正文")
    assert components.citation_title(no_page, 1, "en") == "[1] 说明.txt · relevance 0.50"


def test_escape_markdown_neutralises_html_links_and_images():
    escaped = components.escape_markdown(f"{HOSTILE} [a](http://x) ![i](y.png) **b** $x$ :red[c]")
    assert re.search(r"(?<!\\)[<>\[\]()*$:!]", escaped) is None
    assert components.escape_markdown("星河路由器") == "星河路由器"


def test_escape_multiline_keeps_line_breaks():
    assert components.escape_multiline("第一行\n第二行 1.") == "第一行  \n第二行 1\\."


def test_snippet_collapses_whitespace_and_truncates():
    assert components.snippet("甲  乙\n丙") == "甲 乙 丙"
    cut = components.snippet("字" * 500, limit=10)
    assert len(cut) == 10 and cut.endswith("…")


def test_human_size_and_local_time():
    assert components.human_size(512) == "512 B"
    assert components.human_size(2048) == "2.0 KB"
    assert components.human_size(5 * 2**20) == "5.0 MB"
    assert components.human_size(None) == ""
    naive_utc = datetime(2024, 1, 2, 3, 4)
    local = naive_utc.replace(tzinfo=UTC).astimezone()
    assert components.local_time(naive_utc) == local.strftime("%Y-%m-%d %H:%M")
    assert components.local_time(None) == ""


def test_file_table_uses_language_specific_columns():
    row = SimpleNamespace(
        name="a.txt", size=2048, status="done", pages=None, chunks=2, error=None, updated_at=None
    )
    (zh,) = components.file_table([row], "zh")
    assert zh == {
        "文件": "a.txt", "大小": "2.0 KB", "页数": None, "片段数": 2,
        "状态": "完成", "更新时间": "", "错误": "",
    }  # fmt: skip
    assert next(iter(components.file_table([row], "en")[0])) == "File"


# -- highlighting ---------------------------------------------------------------------------------
def test_query_terms_are_the_question_words_of_two_or_more_characters():
    terms = query_terms("星河路由器的默认管理地址是什么？")
    assert "管理" in terms and "地址" in terms
    assert all(len(term) >= 2 for term in terms) and "什么" not in terms
    assert terms == sorted(terms, key=lambda term: (-len(term), term))


def test_match_spans_are_case_insensitive_and_merged():
    assert match_spans("WiFi 与 wifi", ["wifi"]) == [(0, 4), (7, 11)]
    assert match_spans("默认管理地址", ["管理", "理地", "地址"]) == [(2, 6)]
    assert match_spans("没有", ["星河"]) == []


def test_highlight_marks_matches_and_escapes_everything_from_the_document():
    assert highlight_markdown("管理<b>", ["管理"]) == f"{HIGHLIGHT_OPEN}管理]\\<b\\>"
    passage = f"管理地址{HOSTILE}[点我](http://evil.example) 管理*员*"
    marked = highlight_markdown(passage, ["管理", "[点我]"])
    assert marked.count(HIGHLIGHT_OPEN) == 3 and "\\[点我\\]" in marked
    # with our own `:orange-background[...]` taken out, nothing markdown-significant is left unescaped
    inner = re.sub(re.escape(HIGHLIGHT_OPEN) + r"(.*?)(?<!\\)\]", r"\1", marked)
    assert re.search(r"(?<!\\)[<>\[\]()*!:]", inner) is None


# -- live job list --------------------------------------------------------------------------------
def _job(status: str, age_min: float = 0, **fields: object) -> SimpleNamespace:
    base = dict(
        filename="a.pdf", progress=0.0, pages_done=None, pages_total=None, chunks=None, note="", error=None
    )
    base.update(fields)
    return SimpleNamespace(status=status, updated_at=datetime.now(UTC) - timedelta(minutes=age_min), **base)


def test_recent_jobs_keep_running_and_recently_finished_ones():
    jobs = [_job("queued", 999), _job("done", 1), _job("failed", 60), _job("parsing", 30)]
    assert [j.status for j in jobs_view.recent_jobs(jobs)] == ["queued", "done", "parsing"]
    assert jobs_view.active(jobs) and not jobs_view.active([_job("done"), _job("failed")])


def test_progress_counts_finished_jobs_as_complete():
    jobs = [_job("done"), _job("failed"), _job("embedding", progress=0.8), _job("queued")]
    assert [jobs_view.job_progress(j) for j in jobs] == [1.0, 1.0, 0.8, 0.0]
    assert jobs_view.overall(jobs) == 0.7
    assert jobs_view.overall([]) == 1.0


def test_job_line_says_pages_chunks_and_notes():
    parsing = _job("parsing", pages_done=3, pages_total=13)
    assert jobs_view.job_line(parsing, "zh") == "a.pdf — 解析中 （3/13 页）"
    done = _job("done", chunks=71, note="unchanged: already indexed")
    assert jobs_view.job_line(done, "en") == "a.pdf — done（71 chunks） — unchanged: already indexed"
