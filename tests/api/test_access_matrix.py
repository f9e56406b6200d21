"""Every route, as every kind of caller: who is let in and who is turned away.

The routes are enumerated from the app, so a new route fails `test_every_route_has_an_access_rule` until it
is given a rule and a sample request here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from api.conftest import PASSWORD, Api

# (method, route path) -> (effective access rule, sample request: (path, request kwargs))
# "public": no token needed; "user": any signed-in user; "read"/"edit": of the KB "hr";
# "admin": administrators only. Admin-only requests point at throwaway objects ("wiki", "temp").
ROUTES: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("GET", "/health"): ("public", "/health", {}),
    ("POST", "/auth/login"): ("public", "/auth/login", {"json": {"username": "admin", "password": PASSWORD}}),
    ("GET", "/auth/me"): ("user", "/auth/me", {}),
    ("GET", "/users"): ("admin", "/users", {}),
    ("POST", "/users"): ("admin", "/users", {"json": {"username": "new", "password": PASSWORD}}),
    ("PATCH", "/users/{username}"): ("admin", "/users/temp", {"json": {"role": "editor"}}),
    ("DELETE", "/users/{username}"): ("admin", "/users/temp", {}),
    ("PUT", "/users/{username}/kbs/{name}"): ("admin", "/users/temp/kbs/wiki", {}),
    ("DELETE", "/users/{username}/kbs/{name}"): ("admin", "/users/temp/kbs/wiki", {}),
    ("GET", "/kbs"): ("user", "/kbs", {}),
    ("POST", "/kbs"): ("admin", "/kbs", {"json": {"name": "new-kb"}}),
    ("GET", "/kbs/{name}"): ("read", "/kbs/hr", {}),
    ("PATCH", "/kbs/{name}"): ("admin", "/kbs/wiki", {"json": {"description": "维基"}}),
    ("DELETE", "/kbs/{name}"): ("admin", "/kbs/wiki", {}),
    ("POST", "/kbs/{name}/files"): (
        "edit",
        "/kbs/hr/files",
        {"files": [("files", ("新制度.txt", "加班需要提前申请。".encode(), "text/plain"))]},
    ),
    ("GET", "/kbs/{name}/files"): ("read", "/kbs/hr/files", {}),
    ("GET", "/kbs/{name}/files/{file:path}/original"): ("read", "/kbs/hr/files/年假制度.txt/original", {}),
    ("GET", "/kbs/{name}/files/{file:path}/chunks"): ("read", "/kbs/hr/files/年假制度.txt/chunks", {}),
    ("POST", "/kbs/{name}/files/{file:path}/reindex"): ("edit", "/kbs/hr/files/年假制度.txt/reindex", {}),
    ("DELETE", "/kbs/{name}/files/{file:path}"): ("edit", "/kbs/hr/files/报销流程.txt", {}),
    ("PATCH", "/kbs/{name}/chunks/{chunk_id}"): (
        "edit",
        "/kbs/hr/chunks/{chunk_id}",
        {"json": {"enabled": True}},
    ),
    ("GET", "/kbs/{name}/jobs"): ("read", "/kbs/hr/jobs", {}),
    ("GET", "/jobs/{job_id}"): ("read", "/jobs/{job_id}", {}),
    ("POST", "/kbs/{name}/search"): ("read", "/kbs/hr/search", {"json": {"query": "年假"}}),
    ("POST", "/kbs/{name}/ask"): ("read", "/kbs/hr/ask", {"json": {"question": "年假有几天？"}}),
    ("POST", "/v1/chat/completions"): (
        "read",
        "/v1/chat/completions",
        {"json": {"model": "hr", "messages": [{"role": "user", "content": "年假有几天？"}]}},
    ),
    ("GET", "/v1/models"): ("user", "/v1/models", {}),
    ("POST", "/"): ("read", "/", {"json": {"prompt": "年假有几天？", "kb": "hr"}}),
    ("POST", "/chat"): ("read", "/chat", {"json": {"prompt": "年假有几天？", "kb": "hr"}}),
    ("POST", "/get_response"): ("user", "/get_response", {"json": {"request_id": "unknown"}}),
    ("POST", "/auth/logout"): ("user", "/auth/logout", {}),  # last: it revokes the caller's token
}
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

# Who passes each rule; the keys of conftest.USERS plus None for a caller without a token.
ALLOWED: dict[str, set[str | None]] = {
    "public": {"admin", "editor_hr", "editor_other", "viewer_hr", "viewer_other", None},
    "user": {"admin", "editor_hr", "editor_other", "viewer_hr", "viewer_other"},
    "read": {"admin", "editor_hr", "viewer_hr"},
    "edit": {"admin", "editor_hr"},
    "admin": {"admin"},
}
CALLERS = ["admin", "editor_hr", "editor_other", "viewer_hr", "viewer_other", None]


def app_routes(api: Api) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(api.client.app.routes):
        path, methods = str(context.path), getattr(context.original_route, "methods", None) or ()
        found |= {(m, path) for m in methods if m != "HEAD" and path not in DOCS}
    return found


def test_every_route_has_an_access_rule(api: Api) -> None:
    assert app_routes(api) == set(ROUTES)


def _sample_ids(api: Api) -> dict[str, str]:
    # Uploads only queue from here on: these tests are about who gets in, not about ingesting.
    api.container.jobs.stop_worker()
    job = api.call("POST", "/kbs/hr/files", files=[("files", ("x.txt", "测试内容。".encode(), "text/plain"))])
    chunks = api.call("GET", "/kbs/hr/files/年假制度.txt/chunks").json()
    api.container.auth.create_user("temp", PASSWORD, "viewer")
    return {"job_id": str(job.json()[0]["id"]), "chunk_id": chunks[0]["chunk_id"]}


@pytest.mark.parametrize("caller", CALLERS)
def test_access_matrix(api: Api, caller: str | None) -> None:
    ids = _sample_ids(api)
    for (method, route), (rule, path, kwargs) in ROUTES.items():
        response = api.call(method, path.format(**ids), user=caller, **kwargs)
        where = f"{method} {route} as {caller or 'anonymous'}: {response.status_code} {response.text[:200]}"
        assert response.status_code < 500, where
        if caller in ALLOWED[rule]:
            assert response.status_code not in (401, 403), where
        else:
            assert response.status_code == (403 if caller else 401), where
            assert response.json()["detail"], where


def test_auth_off_lets_anyone_in_as_the_local_admin(api: Api) -> None:
    from kb_app.auth import AuthService

    ids = _sample_ids(api)
    api.container.__dict__["auth"] = AuthService(api.container.catalog, mode="off")
    for (method, route), (_rule, path, kwargs) in ROUTES.items():
        response = api.call(method, path.format(**ids), user=None, **kwargs)
        assert response.status_code not in (401, 403) and response.status_code < 500, (method, route)
    assert api.call("GET", "/auth/me", user=None).json()["role"] == "admin"


def test_lists_show_only_granted_knowledge_bases(api: Api) -> None:
    assert [kb["name"] for kb in api.call("GET", "/kbs", user="viewer_hr").json()] == ["hr"]
    assert api.call("GET", "/kbs", user="editor_other").json() == []
    assert {kb["name"] for kb in api.call("GET", "/kbs", user="admin").json()} == {"hr", "wiki"}
    models = api.call("GET", "/v1/models", user="viewer_hr").json()
    assert [m["id"] for m in models["data"]] == ["hr"]


def test_bad_and_revoked_tokens_are_refused(api: Api) -> None:
    assert api.client.get("/kbs", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    api.container.auth.revoke_tokens("viewer_hr")
    response = api.call("GET", "/kbs", user="viewer_hr")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
