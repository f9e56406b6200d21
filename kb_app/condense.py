"""Follow-up questions: what to search for when "那它需要多少显存？" only makes sense after earlier turns.

`RuleCondenser` (the default: instant, no model) handles the common Chinese cases:

- a pronoun or demonstrative (它, 他, 她, 其, 该, 这个, 那款 ...) stands for the previous subject: it is
  replaced by that subject ("那它需要多少显存？" -> "那ChatGLM-6B需要多少显存？");
- an elliptical question ("一般公共预算收入呢？", "也叫什么？", or any very short question) gets the
  previous subject in front.

The subject is the previous user question's 《title》 or its leading noun phrase (jieba part-of-speech
tags), else its rarest word. `LLMCondenser` asks the local model to rewrite the question instead (a
few dozen tokens; slower, measured against the rules in bench/bench_followups.py). The answer prompt
always gets the original question and the history: condensing only changes what is searched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

History = Sequence[tuple[str, str]]

_PRONOUN = re.compile(
    r"(它們|它们|它|他們|他们|她們|她们|他|她|其|[该該](?:公司|产品|模型|项目|文件|政策|书|人|地)?|此地|"
    r"[这這那][个個款种種部本位家条條些里裡儿兒]|[当當][时時地]|全[省市县縣])"
)
_ELLIPSIS = re.compile(
    r"^(那么?|還有|还有|另外|以及|而且|并且|同时|也|又|再)|[也又](?:叫|称|稱|名)|呢[？?]?$"
)
_LEAD_IN = re.compile(r"^(请问|請問|介绍一下|介紹一下|什么是|什麼是|何谓|何謂)")
_LEADING_PREDICATE = re.compile(r"^(是|的|在|被|由|对|對|为|為|有|能|会|會)")
_CLAUSE = re.compile(r"[，,；;：:]")
_PREDICATE = re.compile(
    r"是|的|在|位于|於|于|为何|為何|为什么|為什麼|為|为|因|有|毕业|畢業|担任|擔任|分布|最初|目前|经过|經過|"
    r"需要|能|会|會|怎么|怎麼|如何|什么|什麼|哪|多少|几|幾|又名|本科|中学|何|被|由|对|對"
)
_SHORT = 8  # characters; "价格呢？" or "也叫什么？" cannot stand alone
_TITLE = re.compile(r"《[^》]{1,40}》")
_NOUNISH = ("n", "eng", "j", "m")
_JOINERS = frozenset("-·._")


def is_follow_up(question: str) -> bool:
    """Whether `question` leans on an earlier turn (a pronoun, an ellipsis cue, or very short)."""
    text = question.strip()
    return bool(_PRONOUN.search(text) or _ELLIPSIS.search(text) or len(text) <= _SHORT)


def subject_of(question: str) -> str:
    """The topic of a question: its 《title》, else what comes before its predicate in the last clause
    that has one ("在中国，牡蒿分布在哪些省市？" -> 牡蒿; "ChatGLM-6B 需要多少显存？" -> ChatGLM-6B)."""
    title = _TITLE.search(question)
    if title:
        return title.group(0)
    text = _LEAD_IN.sub("", question.strip())
    for clause in reversed([c for c in _CLAUSE.split(text) if c.strip()]):
        if _LEADING_PREDICATE.match(clause):
            continue  # "是做什么工作的" has no subject of its own
        marker = _PREDICATE.search(clause, 1)
        head = (clause[: marker.start()] if marker else clause).strip(" ？?。！!")
        if len(head) > 10:  # a long head holds more than the subject: keep its leading noun phrase
            head = _leading_noun_phrase(head)
        if len(head) >= 2:
            return head
    return ""


def _leading_noun_phrase(text: str) -> str:
    """The first run of noun-like words (jieba tags), skipping leading numbers, dates and punctuation."""
    import jieba.posseg

    phrase: list[str] = []
    for word in jieba.posseg.cut(text):
        nounish = word.flag.startswith(_NOUNISH) and not (word.flag == "m" and not phrase)
        if nounish or (phrase and word.word in _JOINERS):
            phrase.append(word.word)
        elif phrase:
            break
    return "".join(phrase).strip("".join(_JOINERS) + " ")


class RuleCondenser:
    """Rewrites a follow-up question with the subject of the previous user turn (no model)."""

    name = "rules"

    def __call__(self, question: str, history: History) -> str:
        if not history or not is_follow_up(question):
            return question
        for previous, _ in reversed(history):
            subject = subject_of(self(previous, []) if previous else "")
            if subject:
                break
        else:
            return question
        if subject in question:
            return question
        if _PRONOUN.search(question):
            return _PRONOUN.sub(subject, question, count=1)
        return f"{subject} {question}"


_LLM_INSTRUCTION = (
    "根据对话历史，把用户的最后一个问题改写成一个不依赖上下文、意思完整的问题，"
    "把代词（它、他、她、其、该等）换成它指代的具体名称。只输出改写后的问题。"
)


class LLMCondenser:
    """Asks the local model for a standalone question (max `max_tokens`); falls back to the rules."""

    name = "llm"

    def __init__(self, generator: Any, max_tokens: int = 48, turns: int = 2) -> None:
        self.generator = generator
        self.max_tokens = max_tokens
        self.turns = turns
        self.fallback = RuleCondenser()

    def __call__(self, question: str, history: History) -> str:
        if not history:
            return question
        recent = "\n".join(f"用户：{q}\n助手：{a[:200]}" for q, a in list(history)[-self.turns :])
        messages = [
            {"role": "system", "content": _LLM_INSTRUCTION},
            {
                "role": "user",
                "content": f"对话历史：\n{recent}\n\n最后一个问题：{question}\n\n改写后的问题：",
            },
        ]
        try:
            text = self.generator.generate(messages, max_tokens=self.max_tokens).strip().splitlines()
        except Exception as exc:  # a broken model must not break the chat: the rules still work
            log.warning("LLM condensing failed (%s); using the rules.", exc)
            return self.fallback(question, history)
        rewritten = text[0].strip().strip('"“”') if text else ""
        return (
            rewritten if 2 <= len(rewritten) <= 4 * len(question) + 60 else self.fallback(question, history)
        )


def make_condenser(kind: str, generator: Any = None) -> Any:
    """ "rules" (default), "llm" (needs the generator) or "off"."""
    if kind == "off":
        return lambda question, history: question
    if kind == "llm":
        return LLMCondenser(generator)
    if kind == "rules":
        return RuleCondenser()
    raise ValueError(f"Unknown condense mode '{kind}': use rules, llm or off (KB_RETRIEVAL__CONDENSE).")
