"""The schema and its docs page: OpenAPI 3.0, served without a token; Swagger UI from our static files."""

from __future__ import annotations

from django.contrib.staticfiles import finders


def test_schema_is_openapi_3_0_with_every_endpoint(client, db):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.0")
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["bearer"][
            "description"]}
    assert {"/api/v1/teams/", "/api/v1/teams/{slug}/numbers/{e164}/card", "/api/v1/teams/{slug}/history/",
            "/api/v1/teams/{slug}/history.csv", "/api/v1/teams/{slug}/jobs/"} <= set(schema["paths"])


def test_docs_page_uses_local_files_only(client, db):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "https://" not in html.split("<noscript>")[0]
    for path in ("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "js/api-docs.js"):
        assert f"/static/{path}" in html and finders.find(path)
