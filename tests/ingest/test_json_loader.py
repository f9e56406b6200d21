"""JSON and JSON Lines loader: one document per record, flattened keys, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.json_loader import JsonLoader, render_json


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_render_json_flattens_nested_keys_and_joins_lists() -> None:
    record = {
        "标题": "  年度报告 ",
        "作者": {"姓名": "张三", "单位": {"名称": "研究院"}},
        "标签": ["经济", "民生", None, 3.0],
        "章节": [{"名": "前言"}, {"名": "正文"}],
        "空": None,
        "公开": True,
    }
    assert render_json(record).split("\n") == [
        "标题：年度报告",
        "作者.姓名：张三",
        "作者.单位.名称：研究院",
        "标签：经济、民生、3",
        "章节[0].名：前言",
        "章节[1].名：正文",
        "公开：true",
    ]
    assert render_json("  就是一段文字 ") == "就是一段文字"
    assert render_json([]) == "" and render_json({"a": {}}) == ""


def test_jsonl_one_document_per_line_with_line_numbers(tmp_path: Path) -> None:
    lines = [
        {"问题": "怎么登录？", "答案": "用工号登录。"},
        {},
        "一条纯文本记录",
        {"id": 7, "内容": "第三条"},
    ]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines[:2]) + "\n\n"
    text += "\r\n".join(json.dumps(line, ensure_ascii=False) for line in lines[2:]) + "\n"
    path = write(tmp_path / "records.jsonl", text)
    documents = loader_for(path).load(path, path.name)
    assert [(d.text, d.metadata["line"]) for d in documents] == [
        ("问题：怎么登录？\n答案：用工号登录。", 1),
        ("一条纯文本记录", 4),
        ("id：7\n内容：第三条", 5),
    ]
    assert all(d.page is None and d.heading_path == () for d in documents)


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"a": 1}\n{"b": 2}\n{"c": 3,\n{"d": 4}\n')
    with pytest.raises(CorruptDocument, match="line 3"):
        JsonLoader().load(path, path.name)


def test_json_list_dict_and_gbk(tmp_path: Path) -> None:
    listing = write(
        tmp_path / "list.json", json.dumps([{"名称": "甲"}, {"名称": ""}, "乙"], ensure_ascii=False)
    )
    documents = JsonLoader().load(listing, listing.name)
    assert [(d.text, d.metadata) for d in documents] == [("名称：甲", {"index": 0}), ("乙", {"index": 2})]
    mapping = write(tmp_path / "one.json", '{"城市": "北京", "人口": 2185}', encoding="gbk")
    [document] = JsonLoader().load(mapping, mapping.name)
    assert document.text == "城市：北京\n人口：2185"


def test_json_lines_saved_as_json_are_read_as_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "export.json", '{"标题": "一"}\n{"标题": "二"}\n')
    documents = JsonLoader().load(path, path.name)
    assert [(d.text, d.metadata["line"]) for d in documents] == [("标题：一", 1), ("标题：二", 2)]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(CorruptDocument, match=r"line 4, column 1"):
        JsonLoader().load(path, path.name)


@pytest.mark.parametrize(
    ("name", "content"), [("e.json", ""), ("e.jsonl", "\n \n"), ("e.json", "[]"), ("e.json", '{"a": null}')]
)
def test_empty_json_is_empty_document(tmp_path: Path, name: str, content: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(EmptyDocument):
        JsonLoader().load(path, path.name)


def test_binary_json_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\x00\x01\x02\x03" * 200)
    with pytest.raises(CorruptDocument, match="not a text JSON"):
        JsonLoader().load(path, path.name)
