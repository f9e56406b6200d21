"""Requests generated from the OpenAPI schema (schemathesis strategies, driven by hypothesis): whatever
the input, the API answers 2xx/4xx, never a 500."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from api.conftest import Api

EXAMPLES_PER_OPERATION = 5  # 30 operations: keeps the test well under a minute on a busy machine


def test_no_operation_answers_500(api: Api) -> None:
    api.container.jobs.stop_worker()  # uploads only queue: this test is about input handling
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 25
    operations = [op for op in operations if op.path != "/auth/logout"]  # it would revoke our token
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"

        no_server_error()
    # the generated requests reached the handlers, and not only the validation layer
    assert sum(200 <= s < 300 for s in statuses) > 20 and sum(400 <= s < 500 for s in statuses) > 20
