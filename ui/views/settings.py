"""Settings (administrators): models and retrieval defaults saved to <KB_HOME>/kb.toml, each KB's own
refusal threshold and FAQ mode, and the `kb doctor` checks."""

from __future__ import annotations

import streamlit as st

from kb_app import registry
from kb_app.auth import Principal
from kb_app.container import DEFAULT_THRESHOLD, Container
from kb_app.doctor import run_checks
from kb_app.errors import KBError
from kb_app.ui import actions, session, settings_file
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import t
from kb_app.ui.settings_file import EditableSettings


def _choice(label: str, options: list[str], current: str, key: str, help_text: str) -> str:
    options = options if current in options else [current, *options]
    return str(st.selectbox(label, options, index=options.index(current), key=key, help=help_text))


def render_defaults(app: Container, user: Principal, lang: str) -> None:
    now = EditableSettings.from_settings(app.settings)
    with st.form("settings_form"):
        llm = _choice(
            t("set_llm_backend", lang),
            registry.names("generator"),
            now.llm_backend,
            "set_llm",
            t("set_llm_backend_help", lang),
        )
        model_path = st.text_input(
            t("set_model_path", lang),
            now.llm_model_path,
            key="set_model_path",
            help=t("set_model_path_help", lang),
        )
        temperature = st.slider(
            t("set_temperature", lang),
            0.0,
            1.5,
            float(now.temperature),
            0.05,
            key="set_temperature",
            help=t("set_temperature_help", lang),
        )
        embedder = _choice(
            t("set_embedder", lang),
            registry.names("embedder"),
            now.embedder_backend,
            "set_embedder",
            t("set_embedder_help", lang),
        )
        top_k = st.number_input(
            t("set_top_k", lang), 1, 50, now.top_k, key="set_top_k", help=t("set_top_k_help", lang)
        )
        use_threshold = st.checkbox(
            t("set_threshold_fixed", lang), now.threshold is not None, key="set_use_threshold"
        )
        threshold = st.slider(
            t("set_threshold", lang),
            0.0,
            1.0,
            now.threshold if now.threshold is not None else DEFAULT_THRESHOLD,
            0.01,
            key="set_threshold",
            help=t("set_threshold_help", lang),
        )
        chunk_size = st.number_input(
            t("set_chunk_size", lang),
            50,
            4000,
            now.chunk_size,
            50,
            key="set_chunk_size",
            help=t("set_chunk_size_help", lang),
        )
        submitted = st.form_submit_button(t("save", lang), type="primary")
    st.caption(
        escape_markdown(t("set_file_note", lang, path=str(settings_file.config_path(app.settings).resolve())))
    )
    if not submitted:
        return
    values = EditableSettings(
        llm,
        model_path,
        float(temperature),
        embedder,
        int(top_k),
        float(threshold) if use_threshold else None,
        int(chunk_size),
    )
    try:
        actions.ensure(user.is_admin, "change settings")
        path = settings_file.save(app.settings, values)
    except (KBError, OSError) as exc:
        st.error(escape_markdown(session.error_text(exc)))
        return
    for env in settings_file.overridden(values):
        session.flash("warning", t("set_env_override", lang, name=env))
    session.flash("success", t("set_saved", lang, path=str(path)))
    session.reload_container()
    st.rerun()


def render_kb_settings(app: Container, user: Principal, lang: str) -> None:
    from kb_app.faq_mode import faq_settings

    kb_name = session.kb_picker(app, user)
    if kb_name is None:
        return
    own = app.catalog.get_kb(kb_name).threshold
    st.caption(t("set_kb_threshold_now", lang, value=f"{app.threshold(app.open_kb(kb_name)):.2f}"))
    with st.form("kb_settings_form"):
        keep_own = st.checkbox(t("set_kb_threshold_own", lang), own is not None, key="kb_own_threshold")
        value = st.slider(
            t("set_threshold", lang),
            0.0,
            1.0,
            own if own is not None else app.threshold(app.open_kb(kb_name)),
            0.01,
            key="kb_threshold",
            help=t("set_threshold_help", lang),
        )
        faq = faq_settings(app, kb_name)
        faq_on = st.toggle(
            t("set_faq_mode", lang), faq.enabled, key="kb_faq_mode", help=t("set_faq_mode_help", lang)
        )
        faq_threshold = st.slider(
            t("set_faq_threshold", lang), 0.0, 1.0, faq.threshold, 0.01, key="kb_faq_threshold"
        )
        submitted = st.form_submit_button(t("save", lang), type="primary")
    if submitted:
        try:
            actions.set_threshold(app, user, kb_name, float(value) if keep_own else None)
            actions.set_faq(app, user, kb_name, faq_on, float(faq_threshold))
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))
            return
        session.flash("success", t("set_kb_saved", lang, name=kb_name))
        st.rerun()


def render_doctor(app: Container, lang: str) -> None:
    checks = run_checks(app.settings)
    rows = [
        {
            t("col_check", lang): c.name,
            t("col_ok", lang): "✓" if c.ok else "✗",
            t("col_detail", lang): c.detail,
        }
        for c in checks
    ]
    st.dataframe(rows, hide_index=True)
    if all(c.ok for c in checks):
        st.success(t("doctor_ok", lang))
    else:
        st.warning(t("doctor_missing", lang))


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    session.require(user.is_admin)
    st.title(t("nav_settings", lang))
    defaults, per_kb, doctor = st.tabs(
        [t("set_tab_defaults", lang), t("set_tab_kb", lang), t("set_tab_doctor", lang)]
    )
    with defaults:
        st.caption(t("set_defaults_help", lang))
        render_defaults(app, user, lang)
    with per_kb:
        render_kb_settings(app, user, lang)
    with doctor:
        render_doctor(app, lang)
