"""Users, roles, per-knowledge-base grants and API tokens.

    auth = container.auth                      # AuthService (KB_AUTH=on|off, KB_ADMIN_PASSWORD)
    password = auth.bootstrap()                # first run: creates `admin`; print a returned password once
    user = auth.login("zhangsan", "secret-pw") # Principal | None
    user = auth.anonymous()                    # the local admin when KB_AUTH=off, else None
    if user.can_read("员工手册"): ...           # ask/search; can_edit: files and chunks; can_manage_kbs
    token = auth.issue_token("zhangsan")       # API token, shown once, stored hashed
    auth.principal_for_token(token)            # Principal | None

Roles: admin (everything), editor (ask + manage files/chunks in granted KBs), viewer (ask/search in
granted KBs). Errors: `kb_app.errors.AuthError` (bad input), `UserNotFound`, `PermissionDenied`.
"""

from kb_app.auth.principal import Principal, Role
from kb_app.auth.service import ADMIN_USERNAME, LOCAL_ADMIN, AuthService, UserInfo

__all__ = ["ADMIN_USERNAME", "LOCAL_ADMIN", "AuthService", "Principal", "Role", "UserInfo"]
