"""Is the passage an answer leans on about what was asked?

A small model given related but wrong passages answers from them anyway ("2023年中国男足主教练是谁？"
answered from a 2019 article about the previous coach): the answer is copied from a passage, so the
citation check supports it. This check looks at the other side: the passages that support the answer
must hold every number the question states (years, versions, amounts) and at least half of its key
terms (nouns, names, latin words, numbers; question words do not count). An answer whose supporting
passages fail it becomes a refusal.

The passages checked are all those given from the cited files, with file names and headings, so a
chunk that names its subject only in the document's title still matches. What the check gains and costs
is in every `kb eval answers` table (refused_off_question, off_question_lost) and docs/benchmarks.md;
bench/bench_self_check.py compares it with asking the model itself whether its answer is grounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from kb_app.citations import numbers_in

MIN_KEY_TERM_SHARE = 0.5
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_ASKING = re.compile(r"[几哪谁何啥]|多少|什么|怎么")  # "几天", "哪年": what is asked, not what is given
_NOT_CONTENT = re.compile(r"[^0-9a-z\u3400-\u9fff]")
_KEY_FLAGS = ("n", "eng", "j", "m", "t", "vn")
_QUESTION_WORDS = frozenset(
    [
        "什么",
        "时候",
        "哪里",
        "哪个",
        "哪些",
        "哪位",
        "哪一",
        "哪年",
        "哪一年",
        "多少",
        "几个",
        "谁",
        "何时",
        "什么时候",
        "为什么",
        "如何",
        "怎么",
        "怎样",
        "时间",
        "多长",
        "多大",
        "多久",
        "一下",
        "情况",
        "内容",
        "方面",
    ]
)


def _normal(text: str) -> str:
    """Lower-case letters, digits and CJK only ("GPT-4" and "GPT4" compare equal)."""
    return _NOT_CONTENT.sub("", text.lower())


@lru_cache(maxsize=512)
def key_terms(question: str) -> tuple[str, ...]:
    """The question's latin words ("GPT-4" -> "gpt4") and its nouns, names and numbers of two or more
    characters (jieba tags), normalised, question words left out."""
    import jieba.posseg

    terms = [_normal(m) for m in _LATIN.findall(question)]
    for word in jieba.posseg.cut(_LATIN.sub("，", question)):
        term = _normal(word.word)
        asks = word.word in _QUESTION_WORDS or _ASKING.search(word.word)
        if not asks and word.flag.startswith(_KEY_FLAGS):
            terms.append(term)
    return tuple(dict.fromkeys(t for t in terms if len(t) >= 2))


def matches_question(question: str, passages: Sequence[str]) -> bool:
    """True when `passages` together hold every number of `question` and at least
    MIN_KEY_TERM_SHARE of its key terms (a question with no key terms always matches)."""
    joined = "\n".join(passages)
    if not numbers_in(question) <= numbers_in(joined):
        return False
    terms = key_terms(question)
    if not terms:
        return True
    text = _normal(joined)
    return sum(term in text for term in terms) / len(terms) >= MIN_KEY_TERM_SHARE
