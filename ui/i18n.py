"""UI strings, Chinese first. A key missing in another language falls back to Chinese."""

from __future__ import annotations

DEFAULT_LANG = "zh"
LANGUAGES = {"zh": "中文", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    "page_title": {"zh": "本地知识库问答", "en": "Local KB QA"},
    "title": {"zh": "本地知识库问答", "en": "Local knowledge-base QA"},
    "subtitle": {
        "zh": "完全离线：上传文档，提问，答案附带出处。",
        "en": "Fully offline: upload documents, ask questions, get answers with sources.",
    },
    "language": {"zh": "语言 / Language", "en": "语言 / Language"},
    "kb_select": {"zh": "知识库", "en": "Knowledge base"},
    "kb_none": {"zh": "还没有知识库，请先新建一个。", "en": "No knowledge base yet: create one first."},
    "kb_new_header": {"zh": "新建知识库", "en": "New knowledge base"},
    "kb_new_name": {"zh": "名称", "en": "Name"},
    "kb_new_placeholder": {"zh": "例如：员工手册", "en": "e.g. hr-policies"},
    "kb_create": {"zh": "创建", "en": "Create"},
    "kb_created": {
        "zh": "已创建并切换到知识库“{name}”。",
        "en": "Created and opened knowledge base '{name}'.",
    },
    "current_kb": {"zh": "当前知识库：{name}", "en": "Current knowledge base: {name}"},
    "tab_chat": {"zh": "问答", "en": "Chat"},
    "tab_files": {"zh": "文件", "en": "Files"},
    "chat_placeholder": {"zh": "输入你的问题，按回车发送", "en": "Ask a question and press Enter"},
    "chat_empty_kb": {
        "zh": "这个知识库还没有文档：请先在“文件”页上传。",
        "en": "This knowledge base has no documents yet: upload some on the Files tab.",
    },
    "thinking": {"zh": "正在检索并生成答案…", "en": "Searching and writing the answer…"},
    "not_found": {
        "zh": "知识库中没有找到相关信息。",
        "en": "No relevant information was found in the knowledge base.",
    },
    "closest": {"zh": "最接近的段落：", "en": "Closest passages:"},
    "sources": {"zh": "出处：", "en": "Sources:"},
    "page": {"zh": "第{page}页", "en": "page {page}"},
    "score": {"zh": "相关度 {score}", "en": "relevance {score}"},
    "upload_label": {
        "zh": "上传文档（PDF、Word、TXT、Markdown，可多选）",
        "en": "Upload documents (PDF, Word, TXT, Markdown; several at once)",
    },
    "upload_submit": {"zh": "导入", "en": "Import"},
    "upload_none": {"zh": "请先选择要上传的文件。", "en": "Choose files to upload first."},
    "ingest_start": {"zh": "正在导入 {count} 个文件…", "en": "Importing {count} file(s)…"},
    "ingest_progress": {"zh": "已处理 {done}/{total}：{name}", "en": "Processed {done}/{total}: {name}"},
    "ingest_ocr": {
        "zh": "正在识别扫描页 {name}：{done}/{total} 页",
        "en": "Recognising scanned pages of {name}: {done}/{total}",
    },
    "ingest_finished": {"zh": "导入结束。", "en": "Import finished."},
    "ingest_results": {"zh": "导入结果", "en": "Import results"},
    "files_header": {"zh": "知识库中的文件", "en": "Files in this knowledge base"},
    "files_none": {"zh": "还没有文件。", "en": "No files yet."},
    "chunks_count": {"zh": "{chunks} 个片段", "en": "{chunks} chunks"},
    "col_file": {"zh": "文件", "en": "File"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_pages": {"zh": "页数", "en": "Pages"},
    "col_chunks": {"zh": "片段数", "en": "Chunks"},
    "col_error": {"zh": "错误", "en": "Error"},
    "status_done": {"zh": "完成", "en": "done"},
    "status_skipped": {"zh": "已跳过（内容未变）", "en": "skipped (unchanged)"},
    "status_failed": {"zh": "失败", "en": "failed"},
    "status_removed": {"zh": "已删除", "en": "removed"},
    "status_queued": {"zh": "排队中", "en": "queued"},
    "status_parsing": {"zh": "解析中", "en": "parsing"},
    "status_embedding": {"zh": "向量化中", "en": "embedding"},
}


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """Look up a UI string in `lang`, falling back to Chinese, then to the key itself.

    Args:
        key: A key of `STRINGS`.
        lang: A language code of `LANGUAGES`.
        **values: Fills `{placeholders}` in the string.
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**values) if values else text


def status_label(status: str, lang: str = DEFAULT_LANG) -> str:
    """A file status ('done', 'failed', ...) in words; unknown statuses are shown as they are."""
    key = f"status_{status}"
    return t(key, lang) if key in STRINGS else status
