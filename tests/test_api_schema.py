"""/api/v1/schema/ and /api/v1/docs/: OpenAPI from drf-spectacular, behind a login or a token, with no warnings."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from orders.services import Actor
from orders.services.tokens import api_token_create


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=io.StringIO())
    assert "/api/v1/orders/{number}/submit/" in out.read_text()


@pytest.mark.django_db
def test_schema_needs_credentials_and_documents_one_error_shape(viewer):
    anonymous = APIClient().get("/api/v1/schema/?format=json")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
    assert anonymous.json()["type"] == "not_authenticated"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(actor=Actor.system("t"), user=viewer)[1])
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"type", "detail", "errors"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("400", "401", "403", "404", "429"):
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path, method, code)
            if method in ("post", "patch"):
                assert {"409", "415"} <= set(operation["responses"]), (path, method)


@pytest.mark.django_db
def test_docs_page_for_a_signed_in_user(client, viewer):
    anonymous = client.get("/api/v1/docs/")
    assert anonymous.status_code in (401, 403) and anonymous["Content-Type"] == "application/json"
    client.force_login(viewer)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    assert b"drf_spectacular_sidecar" in page.content or b"/static/" in page.content
