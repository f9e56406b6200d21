"""`kb eval answers`: the metrics on known strings, and every runner end to end on tiny fabricated data
sets with the hashing embedder and the scripted generator (the real sets are only parsed here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb_app.answer_eval import (
    best_sentence_f1,
    char_f1,
    contains_any,
    default_data_dir,
    dureader_passages,
    flatten,
    interleave,
    load_cmrc,
    load_dureader,
    load_rgb,
    max_f1,
    normalize,
    pick,
    rgb_correct,
    rgb_parts_found,
    rouge_l,
)
from kb_app.answer_eval_baseline import PLAIN_SYSTEM_PROMPT, answer_window, baseline_refused
from kb_app.answer_eval_report import percentile, run_answer_eval, summarise
from kb_app.answer_eval_run import rgb_conditions, run_cmrc, run_dureader, run_rgb
from kb_app.cli import app
from kb_app.prompting import REFUSAL_TEXT

# --- metrics -------------------------------------------------------------------------------------------


def test_normalize_drops_whitespace_and_chinese_and_ascii_punctuation():
    assert normalize(" 《流浪地球2》, 12 人！\n“OK”. ") == "流浪地球212人ok"
    assert normalize("共12人[1]【2】。") == "共12人"  # citation markers are not part of the answer


def test_char_f1_on_known_strings():
    assert char_f1("北京，是首都。", "北京") == pytest.approx(2 * 0.4 * 1 / 1.4)  # P 2/5, R 1
    assert char_f1(" 12 人！", "12人") == 1.0
    assert char_f1("ABC", "abc") == 1.0
    assert char_f1("。！", "北京") == 0.0
    assert char_f1("上海", "北京") == 0.0
    assert max_f1("北京", ["上海", "北京市"]) == pytest.approx(0.8)


def test_best_sentence_f1_scores_the_sentence_holding_the_answer():
    text = "这个问题涉及一款游戏的规则说明。生命数耗完即算为踢爆！"
    whole, best = max_f1(text, ["踢爆"]), best_sentence_f1(text, ["踢爆"])
    assert best > whole
    assert best == pytest.approx(char_f1("生命数耗完即算为踢爆", "踢爆"))


def test_containment_ignores_whitespace_and_case():
    assert contains_any("答案 是 1月 3日。", ["1月3日"])
    assert contains_any("新款iphone se发布", ["iPhone SE"])
    assert not contains_any("答案是1月4日", ["1月3日", ""])


def test_rouge_l_character_lcs_with_beta_1_2():
    assert rouge_l("我爱北京", ["我在北京"]) == pytest.approx(0.75)  # LCS 我北京: P = R = 3/4
    precision, recall = 1.0, 2 / 7  # LCS 北京 of 北京 vs 我爱北京天安门
    expected = 2.44 * precision * recall / (recall + 1.44 * precision)
    assert rouge_l("北京。", ["我爱北京天安门"]) == pytest.approx(expected)
    # best precision and best recall are taken over the references separately (coco-caption)
    assert rouge_l("北京", ["上海", "北京"]) == pytest.approx(1.0)
    assert rouge_l("", ["北京"]) == 0.0 and rouge_l("上海", ["北京"]) == 0.0


def test_rgb_every_part_needed_with_nested_alternatives():
    answer = [["1313851", "131万"], ["187万", "186.35万"]]
    assert rgb_correct("特斯拉交付131万辆，比亚迪交付186.35万辆。", answer)
    assert rgb_parts_found("特斯拉交付131万辆。", answer) == [True, False]
    assert not rgb_correct("特斯拉交付131万辆。", answer)
    assert not rgb_correct("只有中国。", ["东盟", "中国"]) and contains_any("只有中国。", ["东盟", "中国"])
    assert not rgb_correct("anything", [])


def test_flatten_and_interleave_nested_lists():
    assert flatten([["a", ["b"]], "c"]) == ["a", "b", "c"]
    assert interleave([["a1", "a2", "a3"], ["b1"], "c"]) == ["a1", "b1", "c", "a2", "a3"]


def test_baseline_refusal_and_answer_window():
    assert baseline_refused("资料中没有相关信息。") and baseline_refused("无法根据资料回答。")
    assert baseline_refused(REFUSAL_TEXT) and baseline_refused("  ")
    assert not baseline_refused("事故造成12人死亡。")
    text = "甲" * 700 + "踢爆" + "乙" * 300
    window = answer_window(text, ["踢爆"])
    assert len(window) == 400 and "踢爆" in window
    assert answer_window("短文", ["无"]) == "短文"


def test_percentile_and_pick():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([], 50) is None
    rows = [{"i": i} for i in range(10)]
    assert pick(rows, 3) == rows[:3]
    sample = pick(rows, 3, seed=7)
    assert sample == pick(rows, 3, seed=7) and len(sample) == 3 and sample != rows[:3]


def test_summary_metrics_on_hand_made_records():
    def cmrc(refused, contained, cited, checked, with_gold, first, generated="x", reason=""):
        return {
            "dataset": "cmrc", "system": "ours", "refused": refused, "contained": contained,
            "short_gold": True, "gold_cited": cited, "citations_checked": checked,
            "citations_with_gold": with_gold, "f1": 0.5, "f1_best_sentence": 1.0,
            "first_token_s": first, "total_s": 1.0, "no_model": refused and first is None,
            "generated": generated, "answer_tokens": 4 if generated else 0,
            "reason": reason, "gold": ["42"],
        }  # fmt: skip

    records = [
        cmrc(False, True, True, 2, 1, 0.5),
        cmrc(False, True, False, 2, 2, 1.5),
        cmrc(True, False, None, 0, 0, None, generated="", reason="no_relevant"),  # before the model
        cmrc(True, False, None, 0, 0, 1.0, generated="答案是41。", reason="unsupported"),
        cmrc(True, False, None, 0, 0, 1.0, generated=REFUSAL_TEXT, reason="model"),
        cmrc(True, False, None, 0, 0, 1.0, generated="答案是42。", reason="off_question"),  # was right
    ]
    m = summarise(records)["cmrc"]["ours"]
    assert m["n"] == 6 and m["contained"] == pytest.approx(2 / 6) and m["refused"] == pytest.approx(4 / 6)
    assert m["gold_article_cited"] == 0.5 and m["citation_precision"] == 0.75
    assert m["refused_without_model"] == pytest.approx(1 / 6)
    assert (
        m["refused_unsupported"]
        == m["refused_off_question"]
        == m["off_question_lost"]
        == pytest.approx(1 / 6)
    )
    assert m["ttft_p50_s"] == 1.0 and m["f1"] == 0.5


# --- tiny data sets --------------------------------------------------------------------------------------

ARTICLES = [
    (
        "cmrc/A1",
        "泡泡战士",
        "泡泡战士是一款游戏。玩家用水枪泡封敌人。每次泡封会减少生命数，生命数耗完即算为踢爆。",
    ),
    ("cmrc/A2", "长江", "长江是中国第一长河，全长约6300公里，流经十一个省级行政区。"),
    ("drcd/B1", "茶叶", "乌龙茶是半发酵茶，主要产于福建和台湾。铁观音是著名的乌龙茶。"),
]
QUESTIONS = [
    {"qid": "q1", "question": "生命数耗完即算为什么？", "answers": ["踢爆"], "doc_id": "cmrc/A1"},
    {
        "qid": "q2",
        "question": "长江全长约多少公里？",
        "answers": ["6300公里", "约6300公里"],
        "doc_id": "cmrc/A2",
    },
]
RGB = [
    {
        "id": 0,
        "query": "寺庙踩踏事故死亡人数",
        "answer": ["12人"],
        "positive": [
            "寺庙踩踏事故造成12人死亡，14人受伤。",
            "报道称踩踏事故死亡人数为12人。",
            "寺庙踩踏事故发生在新年。",
        ],
        "negative": [f"寺庙踩踏事故{k}引发关注，死亡人数尚未公布。" for k in "甲乙丙丁戊己"],
    },
    {
        "id": 1,
        "query": "RCEP具体包括哪些国家",
        "answer": ["东盟", "中国"],
        "positive": ["RCEP包括东盟十国和中国等国家。", "RCEP由东盟发起，中国参加。"],
        "negative": [f"RCEP具体条款{k}涉及关税，哪些国家受益仍在讨论。" for k in "甲乙丙丁戊"],
    },
]
RGB_INT = [
    {
        "id": 5,
        "query": "2022年特斯拉和比亚迪交付量",
        "answer": [["1313851", "131万"], ["187万", "186.35万"]],
        "positive": [
            ["2022年特斯拉交付量为131万辆。", "特斯拉2022年交付1313851辆。"],
            ["2022年比亚迪交付量为186.35万辆。"],
        ],
        "negative": ["2022年特斯拉和比亚迪交付量排名引发讨论。", "其他"],
    }
]
DUREADER = [
    {"question_id": 9, "question": "没有答案的问题", "answers": [], "documents": [{"paragraphs": ["x"]}]},
    {
        "question_id": 7,
        "question": "乌龙茶属于什么茶",
        "answers": ["乌龙茶是半发酵茶。"],
        "documents": [
            {
                "title": "乌龙茶_百科",
                "paragraphs": ["无关段落。", "乌龙茶属于半发酵茶，铁观音是乌龙茶。"],
                "most_related_para": 1,
            },
            {"title": "茶叶知识", "paragraphs": ["乌龙茶属于青茶类，是半发酵茶。"], "most_related_para": 5},
        ],
    },
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "eval"
    corpus = [{"doc_id": d, "title": t, "text": x, "source": "test"} for d, t, x in ARTICLES]
    _jsonl(root / "retrieval" / "corpus.jsonl", corpus)
    _jsonl(root / "retrieval" / "dev_questions.jsonl", QUESTIONS)
    _jsonl(root / "answers" / "rgb" / "zh_refine.json", RGB)
    _jsonl(root / "answers" / "rgb" / "zh_int.json", RGB_INT)
    _jsonl(root / "answers" / "dureader2_demo" / "search.dev.json", DUREADER)
    return root


def _kb_names(container) -> list[str]:
    return [kb.name for kb in container.catalog.list_kbs()]


def test_rgb_runner_judges_rejection_and_noise_robustness(fast_container, data_dir):
    gen = fast_container.generator
    gen.enqueue(REFUSAL_TEXT, "事故造成12人死亡[1]。", "RCEP具体条款涉及关税。", "RCEP包括中国等国家。")
    items = load_rgb(data_dir / "answers" / "rgb" / "zh_refine.json", 2)
    records = run_rgb(fast_container, items, integration=False, baseline=False)
    assert len(gen.calls) == 4, "every condition should reach the model with these passages"
    by = {(r["id"], r["dataset"]): r for r in records}
    assert by[0, "rgb_neg"]["correct"] and by[0, "rgb_neg"]["refused"]
    assert by[0, "rgb_mix"]["correct"] and not by[0, "rgb_mix"]["refused"]
    assert not by[1, "rgb_neg"]["correct"]  # invented an answer from negatives only
    assert not by[1, "rgb_mix"]["correct"] and by[1, "rgb_mix"]["correct_any"]  # 东盟 missing
    prompt = gen.calls[0][-1]["content"]
    assert "引发关注" in prompt and "12人死亡" not in prompt  # neg: negatives only
    assert all(r["first_token_s"] is not None and r["answer_tokens"] > 0 for r in records)
    assert _kb_names(fast_container) == []
    assert not list((fast_container.settings.home).glob("rgb-*"))


def test_rgb_unrelated_negatives_are_refused_without_the_model(fast_container, tmp_path):
    item = {"id": 3, "query": "量子色动力学的渐近自由", "answer": ["x"], "positive": ["y"]}
    item["negative"] = ["今天天气晴朗。", "明天下雨。", "后天多云。", "周末有风。", "下周降温。"]
    path = _jsonl(tmp_path / "neg.json", [item])
    records = run_rgb(fast_container, load_rgb(path, 1), integration=False, baseline=False)
    neg = next(r for r in records if r["dataset"] == "rgb_neg")
    assert neg["correct"] and neg["no_model"] and neg["first_token_s"] is None and neg["answer_tokens"] == 0


def test_rgb_int_needs_every_part_and_baseline_uses_the_plain_prompt(fast_container, data_dir):
    gen = fast_container.generator
    gen.enqueue("2022年特斯拉交付量为131万辆。2022年比亚迪交付量为186.35万辆。", "特斯拉交付1313851辆。")
    items = load_rgb(data_dir / "answers" / "rgb" / "zh_int.json", 1)
    passages = rgb_conditions(items[0], integration=True)["int"]
    assert len(passages) == 4 and any("比亚迪" in p and "186" in p for p in passages)
    ours, base = run_rgb(fast_container, items, integration=True, baseline=True)
    assert (ours["system"], base["system"]) == ("ours", "baseline")
    assert ours["correct"] and not base["correct"]
    assert gen.calls[1][0]["content"] == PLAIN_SYSTEM_PROMPT and base["prompt_tokens"] > 0


def test_cmrc_runner_scores_f1_containment_and_citations(fast_container, data_dir, monkeypatch):
    gen = fast_container.generator
    gen.enqueue("生命数耗完即算为踢爆。", "踢爆", "全长约5000公里。")  # ours, baseline, ours, ...
    retrieval = data_dir / "retrieval"
    items = load_cmrc(retrieval / "dev_questions.jsonl", 2)
    records = run_cmrc(
        fast_container, items, retrieval / "corpus.jsonl", "eval-corpus", baseline=True, seed=0
    )
    ours = [r for r in records if r["system"] == "ours"]
    assert ours[0]["contained"] and ours[0]["gold_cited"] and ours[0]["short_gold"]
    assert ours[0]["citations_checked"] >= 1 and ours[0]["citations_with_gold"] >= 1
    assert (
        ours[0]["f1"] == pytest.approx(char_f1("生命数耗完即算为踢爆", "踢爆")) == ours[0]["f1_best_sentence"]
    )
    assert not ours[1]["contained"] and ours[1]["gold_cited"] is None
    baseline = [r for r in records if r["system"] == "baseline"]
    assert baseline[0]["f1"] == 1.0 and baseline[0]["citations"] == []
    plain = gen.calls[1][-1]["content"]
    assert "资料3" in plain and all(text[:10] in plain for _, _, text in ARTICLES)  # 2 distractors exist
    monkeypatch.setattr(fast_container, "ingest", lambda *a, **k: pytest.fail("KB rebuilt"))
    run_cmrc(fast_container, items[:1], retrieval / "corpus.jsonl", "eval-corpus", baseline=False, seed=0)


def test_dureader_runner_rouge_l_and_scratch_kb_removed(fast_container, data_dir):
    fast_container.generator.enqueue("乌龙茶是半发酵茶。")
    items = load_dureader(data_dir / "answers" / "dureader2_demo" / "search.dev.json", 5)
    assert [i["question_id"] for i in items] == [7]  # the unanswered question is skipped
    assert dureader_passages(items[0]) == [
        ("乌龙茶_百科", "乌龙茶属于半发酵茶，铁观音是乌龙茶。"),
        ("茶叶知识", "乌龙茶属于青茶类，是半发酵茶。"),  # most_related_para out of range: first paragraph
    ]
    (record,) = run_dureader(fast_container, items)
    assert record["rouge_l"] == pytest.approx(1.0)
    assert "乌龙茶属于半发酵茶" in fast_container.generator.calls[0][-1]["content"]
    assert _kb_names(fast_container) == []


def test_summary_table_compares_ours_with_baseline(fast_container, data_dir):
    result = run_answer_eval(fast_container, data_dir, cmrc=2, rgb=2, rgb_int=1, dureader=1, baseline=True)
    summary = result["summary"]
    assert set(summary) == {"cmrc", "rgb_neg", "rgb_mix", "rgb_int", "dureader"}
    assert set(summary["cmrc"]) == {"ours", "baseline"} and set(summary["dureader"]) == {"ours"}
    assert summary["rgb_neg"]["ours"]["n"] == 2 and summary["cmrc"]["baseline"]["n"] == 2
    table = result["table"]
    assert "scripted" in table and "negative_rejection" in table and "f1_best_sentence" in table
    assert "ttft_p90_s" in table and "baseline" in table.splitlines()[1]


def test_cli_prints_the_table_and_writes_json(fast_container, data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("kb_app.cli_eval_answers.make_container", lambda *args: fast_container)
    out = tmp_path / "out.json"
    args = ["eval", "answers", "--data-dir", str(data_dir), "--cmrc", "2", "--rgb", "2", "--rgb-int", "0"]
    result = CliRunner().invoke(app, [*args, "--dureader", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "negative_rejection" in result.output and "rouge_l" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["items"]) == 2 + 2 * 2 + 1 and "rgb_int" not in data["summary"]
    assert data["header"]["baseline"] is False


def test_make_container_overrides_the_llm_backend(kb_home):
    from kb_app.cli_eval_answers import make_container

    local = make_container("llamacpp", None, "/models/other.gguf")
    assert local.settings.llm.backend == "llama-cpp" and local.settings.gguf_path == Path(
        "/models/other.gguf"
    )
    remote = make_container("openai", "http://127.0.0.1:8011/v1", "qwen")
    assert (remote.settings.llm.base_url, remote.settings.llm.model_name) == (
        "http://127.0.0.1:8011/v1",
        "qwen",
    )
    assert remote.generator.name == "openai:qwen@http://127.0.0.1:8011/v1"


def test_the_real_data_files_parse():
    root = default_data_dir()
    if not root.is_dir():
        pytest.skip(f"{root} is not on this machine")
    cmrc = load_cmrc(root / "retrieval" / "dev_questions.jsonl", 3)
    assert len(cmrc) == 3 and all(q["answers"] and q["doc_id"] for q in cmrc)
    for item in load_rgb(root / "answers" / "rgb" / "zh_refine.json", 3):
        conditions = rgb_conditions(item, integration=False)
        assert len(conditions["neg"]) == 5 and 3 <= len(conditions["mix"]) <= 5
    for item in load_rgb(root / "answers" / "rgb" / "zh_int.json", 3):
        (passages,) = rgb_conditions(item, integration=True).values()
        assert len(passages) == 5 and len(item["answer"]) >= 2
    for item in load_dureader(root / "answers" / "dureader2_demo" / "search.dev.json", 3):
        assert dureader_passages(item) and item["answers"]
