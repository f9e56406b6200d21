"""Chat history per user, with thumbs up/down on answers (exported for evaluation).

A user only ever sees their own conversations: any other id, existing or not, gets the same
`ConversationAccessDenied`, so ids cannot be probed.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, delete, select

from kb_app.catalog import Catalog
from kb_app.catalog.tables import ConversationRow, MessageRow, utcnow
from kb_app.errors import KBError
from kb_app.names import validate_kb_name
from kb_app.schema import Answer, SentenceSupport

ROLES = ("user", "assistant")
_TITLE_CHARS = 40


class ConversationAccessDenied(KBError):
    """The conversation or message does not exist, or belongs to another user."""


class ConversationStore:
    """Conversations and their messages in the catalog database."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def create(self, user: str, kb_names: Sequence[str] | str, title: str = "") -> int:
        """Start a conversation of `user` with one or more KBs; returns its id."""
        names = [kb_names] if isinstance(kb_names, str) else list(kb_names)
        row = ConversationRow(user=user, kb_names=",".join(validate_kb_name(n) for n in names), title=title)
        with self.catalog.session() as s:
            s.add(row)
            s.commit()
            assert row.id is not None
            return row.id

    def list(self, user: str) -> builtins.list[ConversationRow]:
        """The user's conversations, most recently active first."""
        query = select(ConversationRow).where(ConversationRow.user == user)
        with self.catalog.session() as s:
            return builtins.list(
                s.exec(query.order_by(col(ConversationRow.updated_at).desc(), col(ConversationRow.id).desc()))
            )

    def get(self, conversation_id: int, user: str) -> ConversationRow:
        with self.catalog.session() as s:
            return self._own(s, conversation_id, user)

    def messages(self, conversation_id: int, user: str) -> builtins.list[MessageRow]:
        """The conversation's messages, oldest first."""
        with self.catalog.session() as s:
            self._own(s, conversation_id, user)
            query = select(MessageRow).where(MessageRow.conversation_id == conversation_id)
            return builtins.list(s.exec(query.order_by(col(MessageRow.id))))

    def append(
        self, conversation_id: int, user: str, role: str, text: str, answer: Answer | None = None
    ) -> int:
        """Add a message; an assistant message may carry its Answer (citations, refused, kind).

        The first user message titles an untitled conversation. Returns the message id.
        """
        if role not in ROLES:
            raise KBError(f"Unknown message role {role!r}: use one of {', '.join(ROLES)}.")
        message = MessageRow(conversation_id=conversation_id, role=role, text=text)
        if answer is not None:
            message.citations_json = json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)
            sentences = [s.to_dict() for s in getattr(answer, "sentences", ())]
            message.sentences_json = json.dumps(sentences, ensure_ascii=False)
            message.refused = answer.refused
            message.kind = getattr(answer, "kind", "generated")
        with self.catalog.session() as s:
            conversation = self._own(s, conversation_id, user)
            if role == "user" and not conversation.title:
                conversation.title = " ".join(text.split())[:_TITLE_CHARS]
            conversation.updated_at = utcnow()
            s.add_all([conversation, message])
            s.commit()
            assert message.id is not None
            return message.id

    def history_pairs(self, conversation_id: int, user: str) -> builtins.list[tuple[str, str]]:
        """(question, answer) pairs of the finished turns, oldest first (`QAService` history)."""
        pairs: builtins.list[tuple[str, str]] = []
        question: str | None = None
        for message in self.messages(conversation_id, user):
            if message.role == "user":
                question = message.text
            elif question is not None:
                pairs.append((question, message.text))
                question = None
        return pairs

    def rename(self, conversation_id: int, user: str, title: str) -> None:
        with self.catalog.session() as s:
            conversation = self._own(s, conversation_id, user)
            conversation.title = title.strip()[:200]
            s.add(conversation)
            s.commit()

    def clear(self, conversation_id: int, user: str) -> None:
        """Remove every message but keep the conversation."""
        with self.catalog.session() as s:
            self._own(s, conversation_id, user)
            s.exec(delete(MessageRow).where(col(MessageRow.conversation_id) == conversation_id))
            s.commit()

    def delete(self, conversation_id: int, user: str) -> None:
        """Remove the conversation and its messages."""
        with self.catalog.session() as s:
            conversation = self._own(s, conversation_id, user)
            s.exec(delete(MessageRow).where(col(MessageRow.conversation_id) == conversation_id))
            s.delete(conversation)
            s.commit()

    def feedback(self, message_id: int, user: str, value: int, note: str = "") -> None:
        """Record thumbs up (+1), down (-1) or none (0) on one of the user's answers."""
        if value not in (-1, 0, 1):
            raise KBError(f"Feedback must be -1, 0 or +1, not {value!r}.")
        with self.catalog.session() as s:
            message = s.get(MessageRow, message_id)
            if message is None or message.role != "assistant":
                raise ConversationAccessDenied(f"Answer {message_id} does not exist or is not yours.")
            self._own(s, message.conversation_id, user)
            message.feedback, message.feedback_note = value, note.strip()
            s.add(message)
            s.commit()

    def export_feedback(self) -> builtins.list[dict[str, Any]]:
        """Every answer with feedback, with the question it answered, for evaluation (all users)."""
        with self.catalog.session() as s:
            rated = s.exec(select(MessageRow).where(MessageRow.feedback != 0).order_by(col(MessageRow.id)))
            rows = builtins.list(rated)
            ids = {m.conversation_id for m in rows}
            conversations = {
                c.id: c for c in s.exec(select(ConversationRow).where(col(ConversationRow.id).in_(ids)))
            }
            questions = s.exec(
                select(MessageRow).where(col(MessageRow.conversation_id).in_(ids), MessageRow.role == "user")
            ).all()
        return [_feedback_record(m, conversations[m.conversation_id], questions) for m in rows]

    @staticmethod
    def _own(s: Session, conversation_id: int, user: str) -> ConversationRow:
        row = s.get(ConversationRow, conversation_id)
        if row is None or row.user != user:
            raise ConversationAccessDenied(f"Conversation {conversation_id} does not exist or is not yours.")
        return row


def citations_of(message: MessageRow) -> builtins.list[dict[str, Any]]:
    """The citations stored with an answer, as `Citation.to_dict()` gave them."""
    return list(json.loads(message.citations_json or "[]"))


def sentences_of(message: MessageRow) -> builtins.list[SentenceSupport]:
    """A stored answer's sentences with their citation numbers and support."""
    return [
        SentenceSupport(s["text"], tuple(s.get("citations", ())), s.get("supported", True))
        for s in json.loads(message.sentences_json or "[]")
    ]


def unsupported_of(message: MessageRow) -> builtins.list[str]:
    """The sentences of a stored answer that no source supported."""
    return [s.text for s in sentences_of(message) if not s.supported]


def _feedback_record(
    answer: MessageRow, conversation: ConversationRow, questions: Sequence[MessageRow]
) -> dict[str, Any]:
    asked = [
        q for q in questions if q.conversation_id == answer.conversation_id and (q.id or 0) < (answer.id or 0)
    ]
    return {
        "message_id": answer.id,
        "conversation_id": answer.conversation_id,
        "user": conversation.user,
        "kb_names": conversation.kb_names.split(",") if conversation.kb_names else [],
        "question": max(asked, key=lambda q: q.id or 0).text if asked else "",
        "answer": answer.text,
        "citations": citations_of(answer),
        "refused": answer.refused,
        "kind": answer.kind,
        "feedback": answer.feedback,
        "note": answer.feedback_note,
        "created_at": answer.created_at.isoformat(),
    }
