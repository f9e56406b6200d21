"""User management (administrators): create users, set roles, grant knowledge bases, disable accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from kb_app.auth import Principal, Role, UserInfo
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import role_label, t

ROLES = [role.value for role in Role]


def user_rows(users: list[UserInfo], lang: str) -> list[dict[str, Any]]:
    return [
        {
            t("col_user", lang): u.username,
            t("col_role", lang): role_label(u.role, lang),
            t("col_grants", lang): t("all_kbs", lang) if u.role is Role.ADMIN else "、".join(sorted(u.kbs)),
            t("col_disabled_user", lang): "✓" if u.disabled else "",
            t("col_created", lang): u.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        for u in users
    ]


def run_admin(user: Principal, action: Callable[[], object], done: str) -> None:
    """Run one user-management change as `user` (admins only), then show `done` after a rerun."""
    try:
        actions.ensure(user.is_admin, "manage users")
        action()
    except KBError as exc:
        st.error(escape_markdown(session.error_text(exc)))
        return
    session.flash("success", done)
    st.rerun()


def render_create(app: Container, user: Principal, lang: str) -> None:
    with st.form("create_user_form", clear_on_submit=True):
        st.subheader(t("user_new_header", lang))
        name = st.text_input(t("username", lang), key="new_user_name")
        password = st.text_input(
            t("password", lang), type="password", key="new_user_password", help=t("password_help", lang)
        )
        role = st.selectbox(
            t("col_role", lang),
            ROLES,
            index=ROLES.index("viewer"),
            format_func=lambda r: role_label(r, lang),
            key="new_user_role",
        )
        grants = st.multiselect(
            t("col_grants", lang),
            [r.name for r in app.catalog.list_kbs()],
            key="new_user_grants",
            placeholder=t("choose", lang),
        )
        submitted = st.form_submit_button(t("user_create", lang), type="primary")
    if submitted:

        def create() -> None:
            created = app.auth.create_user(name, password, role)
            for kb_name in grants:
                app.auth.grant(created.username, kb_name)

        run_admin(user, create, t("user_created", lang, name=name.strip()))


def render_edit(app: Container, user: Principal, users: list[UserInfo], lang: str) -> None:
    st.subheader(t("user_edit_header", lang))
    names = [u.username for u in users]
    chosen = st.selectbox(t("username", lang), names, key="edit_user")
    target = next(u for u in users if u.username == chosen)
    role = st.selectbox(
        t("col_role", lang),
        ROLES,
        index=ROLES.index(target.role.value),
        format_func=lambda r: role_label(r, lang),
        key=f"edit_role_{chosen}",
    )
    kb_names = [r.name for r in app.catalog.list_kbs()]
    grants = st.multiselect(
        t("col_grants", lang),
        kb_names,
        default=sorted(k for k in target.kbs if k in kb_names),
        placeholder=t("choose", lang),
        key=f"edit_grants_{chosen}",
    )
    if st.button(t("save", lang), key="edit_user_save", type="primary"):

        def save() -> None:
            if role != target.role.value:
                app.auth.set_role(target.username, role)
            for kb_name in set(grants) - target.kbs:
                app.auth.grant(target.username, kb_name)
            for kb_name in target.kbs - set(grants):
                app.auth.revoke(target.username, kb_name)

        run_admin(user, save, t("user_saved", lang, name=target.username))
    label = t("user_enable", lang) if target.disabled else t("user_disable", lang)
    if st.button(label, key="edit_user_disable", disabled=target.username == user.username):
        run_admin(
            user,
            lambda: app.auth.set_disabled(target.username, not target.disabled),
            t("user_saved", lang, name=target.username),
        )


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    session.require(user.is_admin)
    st.title(t("nav_users", lang))
    if not app.auth.enabled:
        st.info(t("auth_off_note", lang))
    users = app.auth.list_users()
    if users:
        st.dataframe(user_rows(users, lang), hide_index=True)
    left, right = st.columns(2)
    with left:
        render_create(app, user, lang)
    if users:
        with right, st.container(border=True):
            render_edit(app, user, users, lang)
