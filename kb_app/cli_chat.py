"""`kb chat`: a multi-turn conversation with one knowledge base in a plain terminal (SSH is fine).

Like ChatGLM's cli_demo: `clear` forgets the conversation and clears the screen, `stop` quits. Answers
stream as the model writes them; Ctrl-C during an answer stops the model and keeps the session.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Annotated, Any, TextIO

import typer

from kb_app.errors import KBError
from kb_app.footnotes import format_footnotes, support_note

TEXTS = {
    "zh": {
        "welcome": "欢迎使用 kb 知识库对话（知识库：{kb}）。直接输入问题；输入 clear 清空对话历史，"
        "输入 stop 退出；回答过程中按 Ctrl-C 可中断当前回答。",
        "user": "用户：",
        "bot": "kb：",
        "cancelled": "（已中断）",
        "hint": "（输入 stop 退出）",
    },
    "en": {
        "welcome": "Chatting with knowledge base '{kb}'. Type a question; 'clear' forgets the conversation, "
        "'stop' quits; Ctrl-C interrupts an answer.",
        "user": "You: ",
        "bot": "kb: ",
        "cancelled": "(interrupted)",
        "hint": "(type stop to quit)",
    },
}
CLEAR_SCREEN = "\033[2J\033[H"

Reader = Callable[[str], str]


def language(value: str) -> str:
    """The message language: "en" for anything English ("en", "en_US.UTF-8"), else "zh"."""
    return "en" if value.lower().startswith("en") else "zh"


def answer_turn(session: Any, query: str, history: list[tuple[str, str]], lang: str, out: TextIO) -> bool:
    """Stream one answer and its sources to `out`; on success append the turn to `history`.

    Returns:
        False when the user interrupted the answer (Ctrl-C) or it failed; history is then unchanged.
    """
    t = TEXTS[lang]
    out.write("\n" + t["bot"])
    out.flush()
    events, answer, streamed = None, None, False
    try:
        events = session.stream(query, history)
        for event in events:
            if event.text:
                out.write(event.text)
                out.flush()
                streamed = True
            answer = event.answer or answer
    except KeyboardInterrupt:
        out.write(t["cancelled"] + "\n")
        return False
    except KBError as exc:
        out.write(f"\nerror: {exc}\n")
        return False
    finally:
        if events is not None:
            events.close()  # stops the model if it is still writing
    assert answer is not None
    if not streamed:
        out.write(answer.text)  # a refusal before the model was called
    out.write(support_note(answer, streamed, lang))
    if not answer.refused:
        out.write(format_footnotes(answer.citations, lang))
    out.write("\n")
    out.flush()
    history.append((query, answer.text))
    return True


def run_chat(session: Any, lang: str = "zh", read: Reader = input, out: TextIO = sys.stdout) -> None:
    """The conversation loop: read a line, answer it, until `stop` or end of input."""
    t = TEXTS[lang]
    welcome = t["welcome"].format(kb=session.name)
    out.write(welcome + "\n")
    history: list[tuple[str, str]] = []
    while True:
        out.flush()
        try:
            query = read("\n" + t["user"]).strip()
        except EOFError:
            out.write("\n")
            return
        except KeyboardInterrupt:
            out.write("\n" + t["hint"] + "\n")
            continue
        if query.lower() == "stop":
            return
        if query.lower() == "clear":
            history.clear()
            out.write((CLEAR_SCREEN if out.isatty() else "") + welcome + "\n")
        elif query:
            answer_turn(session, query, history, lang, out)


def _line_editing() -> None:
    """Arrow keys and history for input() where the platform has readline."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (importing it is what enables line editing)


def chat(
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base name, e.g. samples or 员工手册.")],
    lang: Annotated[
        str, typer.Option("--lang", envvar="KB_LANG", help="zh (default) or en: messages and sources.")
    ] = "zh",
    top_k: Annotated[int | None, typer.Option("--top-k", help="How many chunks to retrieve.")] = None,
) -> None:
    """Chat with a knowledge base in the terminal: streamed, multi-turn answers with their sources."""
    from kb_app.container import Container
    from kb_app.python_api import KBSession

    chosen = language(lang)
    try:
        container = Container()
        container.open_kb(kb)  # fail now, not at the first question, when the KB does not exist
        session = KBSession(container, kb, chosen, top_k=top_k)
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _line_editing()
    run_chat(session, chosen)
