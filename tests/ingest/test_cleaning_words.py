"""Line joining that knows Chinese words: a break that cuts a word is a wrap, one between words may be
a real paragraph or list boundary."""

from __future__ import annotations

from kb_app.ingest.cleaning import cuts_a_word, join_wrapped_lines

FULL = "这是一整行很长的正文内容用来确定页面上一行文字的完整宽度大约三十个字"


def test_short_fragment_that_cuts_a_word_is_joined():
    text = "\n".join([FULL, FULL, FULL, "安德烈亚斯·卡普", "兰和迈克尔·海恩莱因提出了新的定义。", FULL])
    assert "卡普兰和迈克尔" in join_wrapped_lines(text)


def test_single_character_remnants_of_table_cells_are_joined():
    text = "\n".join([FULL, FULL, FULL, "人工智能研", "究", "1991 人工神经网", "络", FULL])
    joined = join_wrapped_lines(text)
    assert "人工智能研究" in joined and "人工神经网络" in joined


def test_short_lines_between_whole_words_stay_apart():
    text = "\n".join([FULL, FULL, FULL + "。", "人工生命", "机器学习", "认知神经科学", FULL])
    lines = join_wrapped_lines(text).split("\n")
    assert "人工生命" in lines and "机器学习" in lines


def test_cuts_a_word():
    assert cuts_a_word("研究人工智能研", "究方法")
    assert not cuts_a_word("人工生命", "机器学习")
