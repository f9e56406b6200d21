"""UI strings, Chinese first. A key missing in another language falls back to Chinese.

One table, grouped by page. Placeholders in braces are filled by `t(key, lang, name=...)`.
"""

from __future__ import annotations

DEFAULT_LANG = "zh"
LANGUAGES = {"zh": "中文", "en": "English"}

_COMMON: dict[str, dict[str, str]] = {
    "page_title": {"zh": "本地知识库问答", "en": "Local KB QA"},
    "title": {"zh": "本地知识库问答", "en": "Local knowledge-base QA"},
    "subtitle": {
        "zh": "完全离线：上传文档，提问，答案附带出处。",
        "en": "Fully offline: upload documents, ask questions, get answers with sources.",
    },
    "language": {"zh": "语言 / Language", "en": "语言 / Language"},
    "forbidden": {
        "zh": "你没有执行此操作的权限，请联系管理员。",
        "en": "You are not allowed to do this; ask an administrator.",
    },
    "save": {"zh": "保存", "en": "Save"},
    "choose": {"zh": "请选择", "en": "Choose"},
    "cancel": {"zh": "取消", "en": "Cancel"},
    "page": {"zh": "第{page}页", "en": "page {page}"},
    "score": {"zh": "相关度 {score}", "en": "relevance {score}"},
    "chunks_count": {"zh": "{chunks} 个片段", "en": "{chunks} chunks"},
    "kb_select": {"zh": "当前知识库", "en": "Knowledge base"},
    "kb_none": {
        "zh": "还没有知识库，请先在“知识库”页新建一个。",
        "en": "No knowledge base yet: create one on the Knowledge bases page.",
    },
    "kb_none_visible": {
        "zh": "你还没有可用的知识库，请联系管理员授权。",
        "en": "No knowledge base is shared with you yet; ask an administrator for access.",
    },
    "current_kb": {"zh": "当前知识库：{name}", "en": "Current knowledge base: {name}"},
    "status_done": {"zh": "完成", "en": "done"},
    "status_skipped": {"zh": "已跳过（内容未变）", "en": "skipped (unchanged)"},
    "status_failed": {"zh": "失败", "en": "failed"},
    "status_removed": {"zh": "已删除", "en": "removed"},
    "status_queued": {"zh": "排队中", "en": "queued"},
    "status_parsing": {"zh": "解析中", "en": "parsing"},
    "status_embedding": {"zh": "向量化中", "en": "embedding"},
    "role_admin": {"zh": "管理员", "en": "administrator"},
    "role_editor": {"zh": "编辑", "en": "editor"},
    "role_viewer": {"zh": "只读用户", "en": "viewer"},
}

_NAVIGATION: dict[str, dict[str, str]] = {
    "nav_login": {"zh": "登录", "en": "Sign in"},
    "nav_chat": {"zh": "问答", "en": "Chat"},
    "nav_kbs": {"zh": "知识库", "en": "Knowledge bases"},
    "nav_files": {"zh": "文件", "en": "Files"},
    "nav_chunks": {"zh": "片段", "en": "Chunks"},
    "nav_hit_test": {"zh": "命中测试", "en": "Hit test"},
    "nav_settings": {"zh": "设置", "en": "Settings"},
    "nav_users": {"zh": "用户管理", "en": "Users"},
    "nav_section_work": {"zh": "工作区", "en": "Workspace"},
    "nav_section_admin": {"zh": "管理", "en": "Administration"},
    "signed_in_as": {"zh": "已登录：{name}（{role}）", "en": "Signed in as {name} ({role})"},
    "logout": {"zh": "退出登录", "en": "Sign out"},
    "auth_off_note": {
        "zh": "登录已关闭（KB_AUTH=off）：单用户桌面模式，你拥有全部权限。",
        "en": "Sign-in is off (KB_AUTH=off): single-user desktop mode, you have every right.",
    },
    "login_header": {"zh": "登录", "en": "Sign in"},
    "username": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "password_help": {"zh": "至少 8 个字符。", "en": "At least 8 characters."},
    "login": {"zh": "登录", "en": "Sign in"},
    "login_failed": {"zh": "用户名或密码错误。", "en": "Wrong user name or password."},
    "login_hint": {
        "zh": "首次启动时，管理员 admin 的初始密码打印在服务器控制台（或由 KB_ADMIN_PASSWORD 设置）。",
        "en": (
            "On first start the password of `admin` is printed on the server console (or set "
            "by KB_ADMIN_PASSWORD)."
        ),
    },
}

_KBS_AND_FILES: dict[str, dict[str, str]] = {
    "kb_new_header": {"zh": "新建知识库", "en": "New knowledge base"},
    "kb_new_name": {"zh": "名称", "en": "Name"},
    "kb_new_placeholder": {"zh": "例如：员工手册", "en": "e.g. hr-policies"},
    "kb_description": {"zh": "描述", "en": "Description"},
    "kb_embedder": {"zh": "向量模型", "en": "Embedding model"},
    "kb_embedder_help": {
        "zh": "知识库一经创建便固定使用此向量模型；更换模型需新建知识库并重新导入。",
        "en": (
            "A knowledge base keeps this embedding model for life; to change it, create a "
            "new one and import again."
        ),
    },
    "kb_chunk_size": {"zh": "片段长度（字）", "en": "Chunk size (characters)"},
    "kb_chunk_overlap": {"zh": "片段重叠（字）", "en": "Chunk overlap (characters)"},
    "kb_chunk_size_help": {
        "zh": "文档按此长度切分为片段。问答对、短条款宜小（200 左右），长篇手册宜大（500 左右）。",
        "en": (
            "Documents are split into chunks of about this length. Short FAQ entries and clauses "
            "suit small chunks (~200), long manuals larger ones (~500)."
        ),
    },
    "kb_create": {"zh": "创建", "en": "Create"},
    "kb_created": {"zh": "已创建知识库“{name}”。", "en": "Created knowledge base '{name}'."},
    "kb_manage_header": {"zh": "管理知识库", "en": "Manage a knowledge base"},
    "kb_admin_only": {
        "zh": "只有管理员可以新建、重命名或删除知识库。",
        "en": "Only administrators can create, rename or delete knowledge bases.",
    },
    "kb_rename_to": {"zh": "新名称", "en": "New name"},
    "kb_rename": {"zh": "重命名", "en": "Rename"},
    "kb_renamed": {"zh": "已将“{old}”重命名为“{new}”。", "en": "Renamed '{old}' to '{new}'."},
    "kb_delete": {"zh": "删除知识库…", "en": "Delete knowledge base…"},
    "kb_delete_warning": {
        "zh": "将永久删除知识库“{name}”及其全部文件和索引，无法恢复。",
        "en": "This permanently deletes knowledge base '{name}' with all its files and indexes.",
    },
    "kb_delete_type_name": {"zh": "输入知识库名称以确认", "en": "Type the knowledge base's name to confirm"},
    "kb_delete_confirm": {"zh": "确认删除", "en": "Delete for good"},
    "kb_delete_name_mismatch": {
        "zh": "输入的名称与知识库名称不一致，未删除。",
        "en": "The name typed does not match the knowledge base's name; nothing was deleted.",
    },
    "kb_deleted": {"zh": "已删除知识库“{name}”。", "en": "Deleted knowledge base '{name}'."},
    "col_kb": {"zh": "知识库", "en": "Knowledge base"},
    "col_description": {"zh": "描述", "en": "Description"},
    "col_files": {"zh": "文件数", "en": "Files"},
    "col_disabled": {"zh": "已停用片段", "en": "Disabled chunks"},
    "col_embedder": {"zh": "向量模型", "en": "Embedder"},
    "col_threshold": {"zh": "拒答阈值", "en": "Threshold"},
    "col_chunk_size": {"zh": "片段长度", "en": "Chunk size"},
    "upload_label": {
        "zh": "上传文档（PDF、Word、Excel、PPT、TXT、Markdown 等，可多选）",
        "en": "Upload documents (PDF, Word, Excel, PowerPoint, TXT, Markdown, ...; several at once)",
    },
    "upload_submit": {"zh": "导入", "en": "Import"},
    "upload_none": {"zh": "请先选择要上传的文件。", "en": "Choose files to upload first."},
    "upload_queued": {
        "zh": "已提交 {count} 个文件，正在后台处理，可以继续使用本页面。",
        "en": "{count} file(s) submitted; they are processed in the background, keep working meanwhile.",
    },
    "jobs_header": {"zh": "导入进度", "en": "Import progress"},
    "jobs_overall": {
        "zh": "总进度：{done}/{total} 个文件已结束",
        "en": "Overall: {done}/{total} files finished",
    },
    "job_pages": {"zh": "（{done}/{total} 页）", "en": "({done}/{total} pages)"},
    "files_header": {"zh": "知识库中的文件", "en": "Files in this knowledge base"},
    "files_none": {"zh": "还没有文件。", "en": "No files yet."},
    "files_read_only": {
        "zh": "你对该知识库只有只读权限。",
        "en": "You have read-only access to this knowledge base.",
    },
    "col_file": {"zh": "文件", "en": "File"},
    "col_size": {"zh": "大小", "en": "Size"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_pages": {"zh": "页数", "en": "Pages"},
    "col_chunks": {"zh": "片段数", "en": "Chunks"},
    "col_updated": {"zh": "更新时间", "en": "Updated"},
    "col_error": {"zh": "错误", "en": "Error"},
    "file_pick": {"zh": "选择文件", "en": "Choose a file"},
    "file_download": {"zh": "下载原文件", "en": "Download original"},
    "file_reindex": {"zh": "重新索引", "en": "Re-index"},
    "file_reindexing": {"zh": "正在重新索引 {name}…", "en": "Re-indexing {name}…"},
    "file_reindexed": {
        "zh": "{name} 已重新索引：{chunks} 个片段。{error}",
        "en": "{name} re-indexed: {chunks} chunks. {error}",
    },
    "file_delete": {"zh": "删除文件…", "en": "Delete file…"},
    "file_delete_confirm": {"zh": "确认删除 {name}", "en": "Delete {name} for good"},
    "file_deleted": {"zh": "已删除 {name}（{chunks} 个片段）。", "en": "Deleted {name} ({chunks} chunks)."},
}

_CHUNKS_AND_SEARCH: dict[str, dict[str, str]] = {
    "chunks_help": {
        "zh": "文档切分后的片段。修改文字后会重新向量化；停用的片段不再参与检索和回答。",
        "en": (
            "The pieces documents were split into. Edited text is embedded again; disabled "
            "chunks are never retrieved."
        ),
    },
    "chunks_summary": {
        "zh": "共 {count} 个片段，其中 {disabled} 个已停用。",
        "en": "{count} chunks, {disabled} disabled.",
    },
    "chunks_page": {"zh": "页码（共 {pages} 页）", "en": "Page (of {pages})"},
    "chunk_chars": {"zh": "{chars} 字", "en": "{chars} characters"},
    "chunk_disabled": {"zh": "已停用", "en": "disabled"},
    "chunk_text": {"zh": "片段内容", "en": "Chunk text"},
    "chunk_save": {"zh": "保存修改", "en": "Save edit"},
    "chunk_saved": {
        "zh": "片段 #{number} 已保存并重新向量化。",
        "en": "Chunk #{number} saved and embedded again.",
    },
    "chunk_disable": {"zh": "停用", "en": "Disable"},
    "chunk_enable": {"zh": "启用", "en": "Enable"},
    "hit_help": {
        "zh": "输入问题，查看检索到的片段、0–1 相关度，以及哪些高于知识库的拒答阈值（只有这些会交给模型）。",
        "en": (
            "Type a question to see the retrieved chunks, their 0-1 relevance, and which "
            "pass the KB's threshold (only those reach the model)."
        ),
    },
    "hit_query": {"zh": "测试问题", "en": "Test question"},
    "hit_top_k": {"zh": "返回片段数（top-k）", "en": "Chunks to return (top-k)"},
    "hit_run": {"zh": "检索", "en": "Search"},
    "hit_summary": {
        "zh": "找到 {found} 个片段，{passing} 个高于阈值 {threshold}。",
        "en": "{found} chunks found, {passing} above the threshold {threshold}.",
    },
    "hit_none": {"zh": "没有检索到任何片段。", "en": "Nothing was retrieved."},
    "hit_pass": {"zh": "通过阈值", "en": "passes"},
    "hit_below": {"zh": "低于阈值", "en": "below threshold"},
    "col_rank": {"zh": "排名", "en": "Rank"},
    "col_score": {"zh": "相关度", "en": "Relevance"},
    "col_passes": {"zh": "通过阈值", "en": "Passes"},
    "col_page": {"zh": "页码", "en": "Page"},
    "col_text": {"zh": "内容", "en": "Text"},
}

_CHAT: dict[str, dict[str, str]] = {
    "chat_kbs": {"zh": "问答使用的知识库", "en": "Knowledge bases to ask"},
    "chat_pick_kb": {
        "zh": "请在左侧选择至少一个知识库。",
        "en": "Choose at least one knowledge base on the left.",
    },
    "chat_history": {"zh": "对话记录", "en": "Conversations"},
    "chat_new": {"zh": "新对话", "en": "New chat"},
    "chat_untitled": {"zh": "（未命名对话）", "en": "(untitled)"},
    "chat_clear": {"zh": "清空", "en": "Clear"},
    "chat_delete": {"zh": "删除", "en": "Delete"},
    "chat_placeholder": {"zh": "输入你的问题，按回车发送", "en": "Ask a question and press Enter"},
    "chat_empty_kb": {
        "zh": "所选知识库还没有文档：请先在“文件”页上传。",
        "en": "The chosen knowledge bases have no documents yet: upload some on the Files page.",
    },
    "thinking": {"zh": "正在检索并生成答案…", "en": "Searching and writing the answer…"},
    "not_found": {
        "zh": "知识库中没有找到相关信息。",
        "en": "No relevant information was found in the knowledge base.",
    },
    "closest": {"zh": "最接近的段落：", "en": "Closest passages:"},
    "unsupported": {
        "zh": "以下内容在引用的资料中找不到依据，请核实：",
        "en": "These sentences are not supported by the cited sources; check them:",
    },
    "answer_withheld": {
        "zh": "模型给出了回答，但资料中找不到能回答这个问题的依据，因此不予采信。",
        "en": "The model answered, but nothing in the passages answers this question, so it was withheld.",
    },
    "sources": {"zh": "出处：", "en": "Sources:"},
    "faq_label": {
        "zh": ":material/push_pin: 常见问题（FAQ）中的标准答案",
        "en": ":material/push_pin: Stored answer from the FAQ",
    },
    "open_source": {"zh": "查看原文", "en": "Open source"},
    "copy_answer": {"zh": "复制答案", "en": "Copy answer"},
    "answer_stats": {
        "zh": "首字 {first} 秒 · 共 {total} 秒",
        "en": "first token {first} s · total {total} s",
    },
    "source_title": {"zh": "原文", "en": "Source"},
    "source_gone": {
        "zh": "该片段已不在知识库中（文件已删除或重新索引），以下为回答时引用的内容。",
        "en": (
            "This passage is no longer in the knowledge base (file deleted or re-indexed); "
            "this is what the answer cited."
        ),
    },
    "source_passage": {"zh": "引用的段落", "en": "Cited passage"},
    "source_page_caption": {"zh": "原文第 {page} 页", "en": "Original, page {page}"},
}

_ADMIN: dict[str, dict[str, str]] = {
    "set_tab_defaults": {"zh": "模型与检索", "en": "Models and retrieval"},
    "set_tab_kb": {"zh": "知识库参数", "en": "Per knowledge base"},
    "set_tab_doctor": {"zh": "环境诊断", "en": "Doctor"},
    "set_defaults_help": {
        "zh": (
            "保存到 KB_HOME 下的 kb.toml，立即生效（模型在下次使用时重新加载）。"
            "环境变量 KB_... 优先于此文件。"
        ),
        "en": (
            "Saved to kb.toml in KB_HOME and applied at once (models reload when next used). "
            "KB_... environment variables take precedence."
        ),
    },
    "set_llm_backend": {"zh": "生成模型后端", "en": "Generator backend"},
    "set_llm_backend_help": {
        "zh": (
            "llama-cpp：本地 GGUF 模型（默认，CPU 即可）；"
            "transformers：本地 Hugging Face 模型目录；"
            "openai：兼容 OpenAI 接口的服务（如 vLLM）。"
        ),
        "en": (
            "llama-cpp: a local GGUF model (default, runs on CPU); transformers: a local "
            "Hugging Face model folder; openai: an OpenAI-compatible server (e.g. vLLM)."
        ),
    },
    "set_model_path": {"zh": "模型路径", "en": "Model path"},
    "set_model_path_help": {
        "zh": "llama-cpp 为 .gguf 文件，transformers 为模型目录；留空使用内置的 Qwen2.5 GGUF。",
        "en": "A .gguf file for llama-cpp, a model folder for transformers; empty: the bundled Qwen2.5 GGUF.",
    },
    "set_temperature": {"zh": "温度", "en": "Temperature"},
    "set_temperature_help": {
        "zh": "越低回答越稳定、越贴近原文；知识库问答建议 0–0.3。",
        "en": "Lower gives steadier answers closer to the sources; 0-0.3 suits knowledge-base QA.",
    },
    "set_embedder": {"zh": "新知识库的默认向量模型", "en": "Default embedder for new knowledge bases"},
    "set_embedder_help": {
        "zh": "只影响之后新建的知识库；已有知识库始终使用建库时的模型。",
        "en": "Affects knowledge bases created later; existing ones keep the model they were built with.",
    },
    "set_top_k": {"zh": "检索片段数（top-k）", "en": "Chunks retrieved (top-k)"},
    "set_top_k_help": {
        "zh": "每个问题交给模型的最多片段数。越多覆盖越全，但回答更慢。",
        "en": "At most this many chunks go to the model per question: more covers more but answers slower.",
    },
    "set_threshold_fixed": {
        "zh": "为所有知识库设定统一的拒答阈值",
        "en": "Use one refusal threshold for all knowledge bases",
    },
    "set_threshold": {"zh": "拒答阈值", "en": "Refusal threshold"},
    "set_threshold_help": {
        "zh": "0–1 的相关度。没有片段达到该值时，直接回答“没有找到”，不调用模型。越高越保守。",
        "en": (
            "A 0-1 relevance. When no chunk reaches it, the answer is 'not found' without "
            "calling the model. Higher is stricter."
        ),
    },
    "set_chunk_size": {"zh": "片段长度（字）", "en": "Chunk size (characters)"},
    "set_chunk_size_help": {
        "zh": "导入时每个片段的目标长度，对之后导入或重新索引的文件生效。",
        "en": "Target length of each chunk at import; applies to files imported or re-indexed later.",
    },
    "set_file_note": {"zh": "配置文件：{path}", "en": "Settings file: {path}"},
    "set_saved": {"zh": "设置已保存到 {path}。", "en": "Settings saved to {path}."},
    "set_env_override": {
        "zh": "环境变量 {name} 已设置，它优先于保存的值。",
        "en": "The environment variable {name} is set and overrides the saved value.",
    },
    "set_kb_threshold_now": {"zh": "当前生效的拒答阈值：{value}", "en": "Threshold in effect: {value}"},
    "set_kb_threshold_own": {
        "zh": "为该知识库单独设定阈值",
        "en": "Give this knowledge base its own threshold",
    },
    "set_faq_mode": {"zh": "FAQ 模式", "en": "FAQ mode"},
    "set_faq_mode_help": {
        "zh": "开启后，与已导入 FAQ 问题足够相似的提问直接返回标准答案，不调用模型。",
        "en": (
            "When on, a question close enough to an imported FAQ question gets its stored "
            "answer, without the model."
        ),
    },
    "set_faq_threshold": {"zh": "FAQ 问题相似度阈值", "en": "FAQ question similarity threshold"},
    "set_kb_saved": {"zh": "已保存知识库“{name}”的参数。", "en": "Saved the settings of '{name}'."},
    "col_check": {"zh": "检查项", "en": "Check"},
    "col_ok": {"zh": "结果", "en": "OK"},
    "col_detail": {"zh": "详情", "en": "Detail"},
    "doctor_ok": {"zh": "所有检查均通过。", "en": "Every check passed."},
    "doctor_missing": {
        "zh": "有检查未通过：按“详情”中的提示处理。",
        "en": "Some checks failed: follow the hints under Detail.",
    },
    "user_new_header": {"zh": "新建用户", "en": "New user"},
    "user_create": {"zh": "创建用户", "en": "Create user"},
    "user_created": {"zh": "已创建用户 {name}。", "en": "Created user {name}."},
    "user_edit_header": {"zh": "修改用户", "en": "Edit a user"},
    "user_saved": {"zh": "已更新用户 {name}。", "en": "Updated user {name}."},
    "user_disable": {"zh": "停用账号", "en": "Disable account"},
    "user_enable": {"zh": "启用账号", "en": "Enable account"},
    "col_user": {"zh": "用户", "en": "User"},
    "col_role": {"zh": "角色", "en": "Role"},
    "col_grants": {"zh": "可用知识库", "en": "Knowledge bases"},
    "col_disabled_user": {"zh": "已停用", "en": "Disabled"},
    "col_created": {"zh": "创建时间", "en": "Created"},
    "all_kbs": {"zh": "全部", "en": "all"},
}

STRINGS: dict[str, dict[str, str]] = {
    **_COMMON,
    **_NAVIGATION,
    **_KBS_AND_FILES,
    **_CHUNKS_AND_SEARCH,
    **_CHAT,
    **_ADMIN,
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


def role_label(role: str, lang: str = DEFAULT_LANG) -> str:
    """A role ('admin', 'editor', 'viewer') in words."""
    key = f"role_{role}"
    return t(key, lang) if key in STRINGS else str(role)
