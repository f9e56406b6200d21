"""Who is asking, and what they may do. Pure data: no database, cheap to import."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a user may do.

    admin: everything, in every knowledge base, plus users and settings.
    editor: ask and search, upload/delete/reindex files and edit chunks, in the KBs granted to them.
    viewer: ask and search only, in the KBs granted to them.
    """

    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the local admin when KB_AUTH=off).

    Attributes:
        username: The user's name.
        role: Their role.
        kbs: Names of the knowledge bases granted to them (ignored for admins, who see all).
    """

    username: str
    role: Role
    kbs: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_manage_kbs(self) -> bool:
        """Create, delete and rename knowledge bases; manage users and settings (admins only)."""
        return self.is_admin

    def can_read(self, kb_name: str) -> bool:
        """Ask questions, search and list files of this knowledge base."""
        return self.is_admin or kb_name in self.kbs

    def can_edit(self, kb_name: str) -> bool:
        """Upload, delete and reindex files and edit chunks of this knowledge base."""
        return self.is_admin or (self.role is Role.EDITOR and kb_name in self.kbs)
