"""The sign-in page, shown instead of everything else until a user signs in (KB_AUTH=on)."""

from __future__ import annotations

import streamlit as st

from kb_app.ui import session
from kb_app.ui.i18n import t


def render() -> None:
    lang = session.lang()
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    with st.form("login_form"):
        st.subheader(t("login_header", lang))
        username = st.text_input(t("username", lang), key="login_username")
        password = st.text_input(t("password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("login", lang), type="primary")
    if not submitted:
        st.caption(t("login_hint", lang))
        return
    if session.sign_in(session.container(), username, password):
        st.rerun()
    st.error(t("login_failed", lang))
