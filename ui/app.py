"""The Streamlit web UI (Chinese by default): `streamlit run ui/app.py`, or `kb ui`.

The pages live in `ui/views/`, not `ui/pages/`: Streamlit treats a `pages/` folder beside the entry
script as a legacy multipage app and runs sessions through it instead of this script's `st.navigation`.

A thin layer: every page calls the Container's services through `kb_app.ui.actions`, which checks the
signed-in principal's rights before each change. Only the pages a principal may use are listed.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.ui import session
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import LANGUAGES, role_label, t
from kb_app.ui.views import chat, chunks, files, hit_test, kbs, login, settings, users


def _page(render: Callable[[], None], key: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(render, title=t(f"nav_{key}", session.lang()), icon=icon, url_path=key, default=default)


def pages_for(user: Principal) -> dict[str, list[st.Page]]:
    """The navigation of a signed-in user: admins also get settings and user management."""
    lang = session.lang()
    work = [
        _page(chat.render, "chat", ":material/chat:", default=True),
        _page(kbs.render, "kbs", ":material/library_books:"),
        _page(files.render, "files", ":material/description:"),
        _page(chunks.render, "chunks", ":material/view_agenda:"),
        _page(hit_test.render, "hit_test", ":material/manage_search:"),
    ]
    sections = {t("nav_section_work", lang): work}
    if user.is_admin:
        sections[t("nav_section_admin", lang)] = [
            _page(settings.render, "settings", ":material/settings:"),
            _page(users.render, "users", ":material/group:"),
        ]
    return sections


def render_sidebar(app: Container, user: Principal | None) -> None:
    lang = session.lang()
    with st.sidebar:
        if user is not None and not app.auth.enabled:
            st.info(t("auth_off_note", lang))
        elif user is not None:
            st.caption(
                escape_markdown(t("signed_in_as", lang, name=user.username, role=role_label(user.role, lang)))
            )
            if st.button(t("logout", lang), key="logout"):
                session.sign_out()
                st.rerun()
        st.radio(
            t("language", lang),
            list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            key="lang",
            horizontal=True,
        )


def main() -> None:
    lang = session.lang()
    st.set_page_config(page_title=t("page_title", lang), page_icon=":material/library_books:", layout="wide")
    app = session.container()
    user = session.principal(app)
    if user is None:
        navigation = st.navigation(
            [_page(login.render, "login", ":material/login:", default=True)], position="hidden"
        )
    else:
        navigation = st.navigation(pages_for(user))
    render_sidebar(app, user)
    session.write_session_cookie()
    session.show_flashes()
    navigation.run()


if __name__ == "__main__":
    main()
