"""Live status of background ingest jobs: one progress bar per file and one for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import status_label, t

FINISHED = ("done", "failed")
RECENT = timedelta(minutes=15)  # finished jobs stay listed this long, so users see how their upload ended
MAX_SHOWN = 30
_ICONS = {
    "queued": ":material/schedule:",
    "parsing": ":material/menu_book:",
    "embedding": ":material/memory:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
}


def active(jobs: Sequence[Any]) -> bool:
    return any(job.status not in FINISHED for job in jobs)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite returns naive UTC


def recent_jobs(jobs: Sequence[Any], now: datetime | None = None) -> list[Any]:
    """Unfinished jobs, and jobs finished in the last `RECENT`, newest first, at most `MAX_SHOWN`."""
    now = now or datetime.now(UTC)
    shown = [j for j in jobs if j.status not in FINISHED or now - _aware(j.updated_at) <= RECENT]
    return shown[:MAX_SHOWN]


def job_progress(job: Any) -> float:
    """0..1; a finished job counts as complete whatever its outcome."""
    if job.status in FINISHED:
        return 1.0
    return min(1.0, max(0.0, float(job.progress or 0.0)))


def job_line(job: Any, lang: str) -> str:
    """Plain text: file, status, pages read so far or chunks made, the note of a no-op."""
    line = f"{job.filename} — {status_label(job.status, lang)}"
    if job.status in ("parsing", "embedding") and job.pages_total:
        line += " " + t("job_pages", lang, done=job.pages_done or 0, total=job.pages_total)
    if job.status == "done" and job.chunks is not None:
        line += f"（{t('chunks_count', lang, chunks=job.chunks)}）"
    if job.status == "done" and job.note:
        line += f" — {job.note}"
    return line


def overall(jobs: Sequence[Any]) -> float:
    return sum(job_progress(j) for j in jobs) / len(jobs) if jobs else 1.0


def render_job_list(jobs: Sequence[Any], lang: str) -> None:
    finished = sum(j.status in FINISHED for j in jobs)
    st.progress(overall(jobs), text=t("jobs_overall", lang, done=finished, total=len(jobs)))
    for job in jobs:
        with st.container(border=True):
            icon = _ICONS.get(job.status, "")
            st.progress(job_progress(job), text=f"{icon} {escape_markdown(job_line(job, lang))}")
            if job.status == "failed":
                st.error(escape_markdown(job.error or t("status_failed", lang)))
