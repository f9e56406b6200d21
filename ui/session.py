"""What every page shares within one browser session: the container, who is signed in, the language,
the chosen knowledge base and one-shot messages carried across a rerun."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import AuthError
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import DEFAULT_LANG, t

log = logging.getLogger(__name__)

# Tests put their own Container here; the running app shares one per server process.
CONTAINER_KEY = "_kb_container"
USER_KEY = "_kb_user"
FLASH_KEY = "_kb_flash"
KB_KEY = "_kb_current"
TOKEN_KEY = "_kb_session_token"
COOKIE_KEY = "_kb_cookie_pending"  # a session cookie to write (or "" to clear) on the next run
SESSION_COOKIE = "kb_session"


@st.cache_resource(show_spinner=False)
def shared_container() -> Container:
    """One Container per server process: models load once; the ingest worker starts once."""
    container = Container()
    password = container.auth.bootstrap()
    if password:
        # The server console is the one place the operator sees; never shown in the browser.
        log.warning("Created the first user 'admin' with the one-time password: %s", password)
    container.jobs.start_worker()
    return container


def reload_container() -> None:
    """Apply saved settings: the next run builds a new Container (models load again when first used).

    The old container's ingest worker is stopped first (after its current job), so the new one's worker
    ingests with the new settings.
    """
    if isinstance(st.session_state.get(CONTAINER_KEY), Container):
        return  # a test's own container stays as the test made it
    shared_container().jobs.stop_worker()
    shared_container.clear()


def container() -> Container:
    """This session's container."""
    own = st.session_state.get(CONTAINER_KEY)
    return own if isinstance(own, Container) else shared_container()


def lang() -> str:
    return str(st.session_state.setdefault("lang", DEFAULT_LANG))


def principal(app: Container) -> Principal | None:
    """Who is signed in, with their role and grants read fresh on every run (an admin's change applies at
    once); the local admin when KB_AUTH=off; None when nobody is signed in."""
    anonymous = app.auth.anonymous()
    if anonymous is not None:
        return anonymous
    username = st.session_state.get(USER_KEY) or _resume(app)
    if not username:
        return None
    try:
        return app.auth.principal(str(username))
    except AuthError:  # deleted or disabled since signing in
        sign_out()
        return None


def _resume(app: Container) -> str | None:
    """The user of this browser's session cookie (a page reload starts a new Streamlit session), or None."""
    token = st.context.cookies.get(SESSION_COOKIE)
    if not isinstance(token, str) or not token or st.session_state.get(COOKIE_KEY) == "":
        return None  # no cookie (or signed out in this session)
    user = app.auth.session_principal(token)
    if user is None:
        return None
    st.session_state[USER_KEY], st.session_state[TOKEN_KEY] = user.username, token
    return user.username


def sign_in(app: Container, username: str, password: str) -> bool:
    user = app.auth.login(username, password)
    if user is None:
        return False
    token = app.auth.start_session(user.username)
    st.session_state[USER_KEY], st.session_state[TOKEN_KEY] = user.username, token
    st.session_state[COOKIE_KEY] = token
    return True


def sign_out() -> None:
    """End the session (its token too, so the cookie no longer signs in) and forget everything of it
    but the language (and a test's container)."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        container().auth.revoke_token(str(token))
    keep = {k: st.session_state[k] for k in ("lang", CONTAINER_KEY) if k in st.session_state}
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state.update(keep)
    st.session_state[COOKIE_KEY] = ""


def write_session_cookie() -> None:
    """Set (after signing in) or clear (after signing out) the browser's session cookie.

    Streamlit can read cookies but not set them, so a zero-height component sets it on the page. The
    cookie holds a random token whose hash the catalog keeps for 12 hours (`AuthService.start_session`);
    SameSite=Strict keeps other sites from sending it.
    """
    token = st.session_state.get(COOKIE_KEY)
    if token is None:
        return
    if token:
        st.session_state.pop(COOKIE_KEY)
    from streamlit.components.v1 import html

    from kb_app.auth.service import SESSION_MAX_AGE

    age = int(SESSION_MAX_AGE.total_seconds()) if token else 0
    cookie = f"{SESSION_COOKIE}={token}; path=/; max-age={age}; SameSite=Strict"
    html(f"<script>window.parent.document.cookie = {cookie!r};</script>", height=0)


def require(allowed: bool) -> None:
    """Stop rendering the page with a message when the principal may not see it."""
    if not allowed:
        st.error(t("forbidden", lang()))
        st.stop()


def flash(kind: str, message: str) -> None:
    """Show `message` on the next run (after an st.rerun); kind: success, error, info or warning."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(escape_markdown(message))


def readable_kbs(app: Container, user: Principal) -> list[str]:
    return [row.name for row in app.catalog.list_kbs() if user.can_read(row.name)]


def kb_picker(app: Container, user: Principal, names: Sequence[str] | None = None) -> str | None:
    """The sidebar's knowledge-base chooser, shared by the pages; None (with a hint) when there is none.

    The choice is kept outside the widget's own state: Streamlit forgets a widget's state on pages that
    do not draw it, and not every page does.
    """
    names = list(names if names is not None else readable_kbs(app, user))
    if not names:
        st.info(t("kb_none" if user.can_manage_kbs else "kb_none_visible", lang()))
        return None
    current = st.session_state.get(KB_KEY)
    index = names.index(current) if current in names else 0
    chosen = str(st.sidebar.selectbox(t("kb_select", lang()), names, index=index, key="kb_picker"))
    st.session_state[KB_KEY] = chosen
    return chosen


def set_current_kb(name: str) -> None:
    st.session_state[KB_KEY] = name
    st.session_state.pop("kb_picker", None)  # else the widget keeps showing the old choice


def context() -> tuple[Container, Principal]:
    """This session's container and signed-in principal; stops the page when nobody is signed in."""
    app = container()
    user = principal(app)
    require(user is not None)
    assert user is not None
    return app, user


def error_text(exc: Exception) -> str:
    """What to show for a failed action: a permission refusal in the user's language, else the message."""
    from kb_app.errors import PermissionDenied

    return t("forbidden", lang()) if isinstance(exc, PermissionDenied) else str(exc)
