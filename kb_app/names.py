"""Validation of knowledge-base names and cleaning of file names that come from users."""

from __future__ import annotations

import re
import unicodedata

from kb_app.errors import InvalidName

_MAX_NAME = 64
_KB_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .-]*$")
# Bidi overrides and zero-width characters let a name display as something it is not.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def validate_kb_name(name: str) -> str:
    """Return the NFC-normalised name or raise InvalidName.

    A KB name becomes a folder name, so it may hold letters (Chinese too), digits, '_', '-', '.', and
    spaces, must not start with '.' or '-', and is at most 64 characters.
    """
    cleaned = unicodedata.normalize("NFC", name.strip())
    if not cleaned or len(cleaned) > _MAX_NAME or not _KB_NAME.match(cleaned) or ".." in cleaned:
        raise InvalidName(
            f"Invalid knowledge-base name {name!r}: use 1-{_MAX_NAME} letters, digits, '_', '-' or '.', "
            "with no '/', '\\' or '..' (for example: hr-policies or 员工手册)."
        )
    return cleaned


def clean_relative_name(name: str) -> str:
    """Turn a user-supplied file name (maybe with folders) into a safe '/'-separated relative name.

    Control and invisible characters are dropped, '..' and '.' parts removed, and the result can never
    point outside the content folder.

    Raises:
        InvalidName: when nothing usable remains.
    """
    text = unicodedata.normalize("NFC", name)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    parts = [p.strip() for p in re.split(r"[\\/]+", text)]
    parts = [p for p in parts if p and p not in (".", "..")]
    parts = [p.lstrip(".") or "_" for p in parts]
    if not parts or len("/".join(parts)) > 512:
        raise InvalidName(
            f"Unusable file name {name!r}: rename the file to an ordinary name and upload it again."
        )
    return "/".join(parts)


_NOT_IN_KB_NAME = re.compile(r"[^\w\u4e00-\u9fff .-]+")


def to_kb_name(raw: str) -> str:
    """A valid KB name made from a foreign one (a Langchain-Chatchat folder, say): a valid name stays as
    it is; otherwise runs of characters our names reject become one '_', '..' goes, '.', '-', '_' and
    spaces are trimmed from both ends, and the result is cut to 64 characters ("kb" if nothing is left).

    Equal inputs give equal outputs, so a second import finds the knowledge bases of the first.
    """
    try:
        return validate_kb_name(raw)
    except InvalidName:
        pass
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", raw))
    text = re.sub(r"_{2,}", "_", _NOT_IN_KB_NAME.sub("_", text).replace("..", "_"))
    text = text.strip("._- ")[:_MAX_NAME].rstrip("._- ")
    return validate_kb_name(text or "kb")
