"""One exception hierarchy. Every message says what happened and what the user can do next."""

from __future__ import annotations


class KBError(Exception):
    """Base of every error kb-app raises on purpose; its message is meant for the user."""


class UnsupportedFileType(KBError):
    """No loader is registered for the file's extension or content type."""


class CorruptDocument(KBError):
    """The file could not be parsed (damaged, truncated, or not what its extension says)."""


class EncryptedDocument(CorruptDocument):
    """The file is password-protected."""


class EmptyDocument(KBError):
    """The file parsed but holds no text to index."""


class ModelNotFound(KBError):
    """A model file or directory is missing; the message names the setting that points to it."""


class BackendNotFound(KBError):
    """A registry lookup used a name nobody registered; the message lists the known names."""


class InvalidName(KBError):
    """A knowledge-base or file name that is empty, too long, or tries to escape its folder."""


class KnowledgeBaseNotFound(KBError):
    """The named knowledge base does not exist."""


class InvalidQuestion(KBError):
    """The question is empty or too long."""


class IndexInconsistent(KBError):
    """The vector index and the catalog disagree in a way that could not be repaired automatically."""


class GeneratorError(KBError):
    """The language model failed to produce an answer (server down, out of memory, ...)."""


class AuthError(KBError):
    """A login, token, user name or password was not accepted; the message says why."""


class PermissionDenied(KBError):
    """The signed-in user may not do this; an administrator can grant access (`kb users grant`)."""


class UserNotFound(AuthError):
    """The named user does not exist."""


class NotFound(KBError):
    """A file, chunk or job named in a request does not exist (the API answers 404)."""


class AlreadyExists(KBError):
    """A knowledge base or user of that name exists already (the API answers 409)."""
