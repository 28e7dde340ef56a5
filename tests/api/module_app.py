"""One app and database per test module, for tests whose world takes long to build through the API
and which only add to it (the round trip, the required-only creates): built like ``app`` in
tests/conftest.py, once per module instead of once per test."""
from __future__ import annotations

import shutil

import pytest

from crm import create_app
from crm.extensions import db
from tests.api.conftest import PREFIX, Api, SpecCheck
from tests.conftest import ON_PG, TEST_CONFIG, FreshContextClient, _empty_pg


@pytest.fixture(scope="module")
def module_app(database_template, tmp_path_factory):
    url = database_template
    if not ON_PG:
        path = tmp_path_factory.mktemp("module") / "kontor.sqlite3"
        shutil.copy(database_template, path)
        url = f"sqlite:///{path}"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    app.test_client_class = FreshContextClient
    with app.app_context():
        if ON_PG:
            _empty_pg()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def module_api(module_app) -> Api:
    """Calls under /api/v1, each answer checked against the document the app serves."""
    document = module_app.test_client().get(f"{PREFIX}/openapi.json").get_json()
    return Api(module_app.test_client(), SpecCheck(document))
