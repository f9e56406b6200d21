"""Knowledge bases, uploads through the background queue, downloads, chunks and jobs over HTTP."""

from __future__ import annotations

from typing import Any

from conftest import SHARED_DOCS

from api.conftest import Api

REPORT = SHARED_DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"


def wait_jobs(api: Api, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    api.container.jobs.wait([int(str(j["id"])) for j in jobs], timeout_s=120)
    return [api.call("GET", f"/jobs/{j['id']}", user="editor_hr").json() for j in jobs]


def test_upload_a_chinese_pdf_then_search_download_and_delete_it(api: Api) -> None:
    upload = api.call(
        "POST",
        "/kbs/hr/files",
        user="editor_hr",
        files=[
            ("files", (REPORT.name, REPORT.read_bytes(), "application/pdf")),
            ("files", ("坏文件.exe", b"MZ\x90\x00 not a document", "application/octet-stream")),
        ],
    )
    assert upload.status_code == 202, upload.text
    assert [j["status"] for j in upload.json()] == ["queued", "queued"]
    pdf_job, bad_job = wait_jobs(api, upload.json())
    assert pdf_job["status"] == "done" and pdf_job["chunks"] > 10 and pdf_job["user"] == "editor_hr"
    assert bad_job["status"] == "failed" and bad_job["error"]
    files = {f["name"]: f for f in api.call("GET", "/kbs/hr/files", user="viewer_hr").json()}
    assert files[REPORT.name]["pages"] == 13 and files[REPORT.name]["status"] == "done"
    assert {j["id"] for j in api.call("GET", "/kbs/hr/jobs").json()} >= {pdf_job["id"], bad_job["id"]}

    hits = api.call(
        "POST", "/kbs/hr/search", user="viewer_hr", json={"query": "地区生产总值增长", "top_k": 3}
    )
    assert hits.status_code == 200, hits.text
    best = hits.json()["hits"][0]
    assert best["source"] == REPORT.name and best["page"] and 0 <= best["score"] <= 1
    assert best["passes_threshold"] == (best["score"] >= hits.json()["threshold"])

    original = api.call("GET", f"/kbs/hr/files/{REPORT.name}/original", user="viewer_hr")
    assert original.status_code == 200 and original.content == REPORT.read_bytes()
    assert api.call("DELETE", f"/kbs/hr/files/{REPORT.name}", user="editor_hr").status_code == 204
    assert REPORT.name not in {f["name"] for f in api.call("GET", "/kbs/hr/files").json()}
    gone = api.call("GET", f"/kbs/hr/files/{REPORT.name}/original")
    assert gone.status_code == 404 and REPORT.name in gone.json()["detail"]


def test_oversized_uploads_get_413_with_the_limit(api: Api) -> None:
    api.container.settings.max_file_mb = 1
    big = ("files", ("大文件.txt", "字".encode() * 400_000, "text/plain"))
    response = api.call("POST", "/kbs/hr/files", user="editor_hr", files=[big])
    assert response.status_code == 413
    assert "大文件.txt" in response.json()["detail"] and "KB_MAX_FILE_MB" in response.json()["detail"]
    assert api.container.jobs.jobs("hr") == []


def test_missing_things_are_404_and_bad_input_400(api: Api) -> None:
    assert api.call("GET", "/kbs/nope").status_code == 404
    assert api.call("GET", "/kbs/hr/files/nope.txt/chunks").status_code == 404
    assert api.call("POST", "/kbs/hr/files/nope.txt/reindex").status_code == 404
    assert api.call("PATCH", "/kbs/hr/chunks/0000", json={"enabled": False}).status_code == 404
    assert api.call("GET", "/jobs/999999").status_code == 404
    assert api.call("POST", "/kbs", json={"name": "../etc"}).status_code == 400
    assert api.call("POST", "/kbs/hr/search", json={"query": "  "}).status_code == 400
    assert api.call("POST", "/kbs/hr/search", json={"query": "年假", "top_k": 0}).status_code == 422
    empty = api.call("PATCH", "/kbs/hr/chunks/0000", json={})
    assert empty.status_code == 400 and "Nothing to change" in empty.json()["detail"]


def test_kb_create_rename_describe_delete_keeps_grants(api: Api) -> None:
    created = api.call("POST", "/kbs", json={"name": "制度", "description": "公司制度"})
    assert created.status_code == 201 and created.json()["files"] == 0
    assert api.call("POST", "/kbs", json={"name": "制度"}).status_code == 409
    renamed = api.call("PATCH", "/kbs/hr", json={"name": "人事", "description": "人事制度"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "人事" and renamed.json()["description"] == "人事制度"
    assert renamed.json()["files"] == 2
    assert [kb["name"] for kb in api.call("GET", "/kbs", user="viewer_hr").json()] == ["人事"]
    assert api.call("POST", "/kbs/人事/search", user="viewer_hr", json={"query": "年假"}).status_code == 200
    assert api.call("PATCH", "/kbs/人事", json={"name": "制度"}).status_code == 409
    assert api.call("DELETE", "/kbs/人事").status_code == 204
    assert api.call("GET", "/kbs/人事").status_code == 404
    assert api.container.auth.principal("viewer_hr").kbs == frozenset()


def test_chunks_can_be_edited_and_disabled(api: Api) -> None:
    chunks = api.call("GET", "/kbs/hr/files/年假制度.txt/chunks", user="viewer_hr").json()
    assert chunks and all(c["enabled"] for c in chunks)
    chunk_id = chunks[0]["chunk_id"]
    edited = api.call(
        "PATCH", f"/kbs/hr/chunks/{chunk_id}", user="editor_hr", json={"text": "病假需要提供医院证明。"}
    )
    assert edited.status_code == 200 and edited.json()["text"] == "病假需要提供医院证明。"
    hits = api.call("POST", "/kbs/hr/search", json={"query": "病假医院证明"}).json()["hits"]
    assert hits[0]["chunk_id"] == chunk_id
    disabled = api.call("PATCH", f"/kbs/hr/chunks/{chunk_id}", user="editor_hr", json={"enabled": False})
    assert disabled.json()["enabled"] is False
    hits = api.call("POST", "/kbs/hr/search", json={"query": "病假医院证明"}).json()["hits"]
    assert chunk_id not in {h["chunk_id"] for h in hits}
    listed = api.call("GET", "/kbs/hr/files/年假制度.txt/chunks").json()
    assert [c["enabled"] for c in listed if c["chunk_id"] == chunk_id] == [False]


def test_reindex_returns_the_report(api: Api) -> None:
    response = api.call("POST", "/kbs/hr/files/报销流程.txt/reindex", user="editor_hr")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done" and response.json()["chunks"] >= 1


def test_users_are_managed_over_the_api(api: Api) -> None:
    created = api.call(
        "POST", "/users", json={"username": "王五", "password": "long enough pw", "role": "viewer"}
    )
    assert created.status_code == 201
    assert (
        api.call("POST", "/users", json={"username": "王五", "password": "long enough pw"}).status_code == 409
    )
    weak = api.call("POST", "/users", json={"username": "赵六", "password": "short"})
    assert weak.status_code == 400 and "at least 8" in weak.json()["detail"]
    assert api.call("PUT", "/users/王五/kbs/hr").status_code == 204
    login = api.client.post("/auth/login", json={"username": "王五", "password": "long enough pw"})
    assert login.status_code == 200
    token = login.json()["access_token"]
    me = api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "王五", "role": "viewer", "kbs": ["hr"], "auth_enabled": True}
    other = api.client.post("/auth/login", json={"username": "王五", "password": "long enough pw"})
    logout = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert api.client.post("/auth/logout", headers=logout).status_code == 204
    assert api.client.get("/auth/me", headers=logout).status_code == 401
    patched = api.call("PATCH", "/users/王五", json={"role": "editor", "disabled": True})
    assert patched.json()["role"] == "editor" and patched.json()["disabled"] is True
    assert api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    wrong = api.client.post("/auth/login", json={"username": "admin", "password": "wrong password"})
    assert wrong.status_code == 401
    assert api.call("DELETE", "/users/admin").status_code == 400  # the last administrator
    assert api.call("DELETE", "/users/nobody").status_code == 404


def test_api_creates_a_kb_with_a_chunk_size(api):
    created = api.call("POST", "/kbs", json={"name": "条款", "chunk_size": 200})
    assert created.status_code == 201, created.text
    assert (created.json()["chunk_size"], created.json()["chunk_overlap"]) == (200, 50)
    assert api.call("POST", "/kbs", json={"name": "坏", "chunk_size": 5}).status_code == 422
    overlapping = {"name": "坏", "chunk_size": 200, "chunk_overlap": 150}
    assert api.call("POST", "/kbs", json=overlapping).status_code == 400
    assert api.call("GET", "/kbs/条款").json()["chunk_size"] == 200
