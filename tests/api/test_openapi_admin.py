"""The administration part of the OpenAPI document is generated from the models the API validates
and answers with: a rule changed in a model changes the document, never one without the other."""
from __future__ import annotations

from crm.auth.models import LOCALES, ROLES
from crm.customfields.models import FIELD_KINDS
from crm.customfields.schemas import FieldCreate
from crm.groups.schemas import GroupCreate
from crm.records.types import TYPES
from crm.users.schemas import UserCreate, UserOut


def test_admin_schemas_are_the_models_schemas(spec):
    schemas = spec.document["components"]["schemas"]
    for model in (UserCreate, UserOut, GroupCreate, FieldCreate):
        mode = "serialization" if model is UserOut else "validation"
        assert schemas[model.__name__] == model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode=mode), model.__name__


def test_admin_enums_come_from_the_codes_constants(spec):
    schemas = spec.document["components"]["schemas"]
    props = schemas["UserCreate"]["properties"]
    assert props["role"]["enum"] == [*ROLES, None]  # (null: the default role, like leaving it out)
    assert {"enum": list(LOCALES), "type": "string"} in props["locale"]["anyOf"]
    assert schemas["FieldCreate"]["properties"]["kind"]["enum"] == list(FIELD_KINDS)
    assert schemas["FieldCreate"]["properties"]["entity"]["enum"] == list(TYPES)
    assert schemas["UserCreate"]["additionalProperties"] is False
    assert set(schemas["UserCreate"]["required"]) == {"email", "name", "password"}
    assert schemas["GroupCreate"]["properties"]["name"]["maxLength"] == 80


def test_user_operations_are_documented(spec):
    user = spec.document["paths"]["/users/{user_id}"]
    assert set(user) == {"get", "patch", "delete"}
    assert user["patch"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserUpdate"}
    assert {"200", "204", "409"} <= set(user["delete"]["responses"])
