"""The administration part of the OpenAPI document (users, groups, custom fields, settings),
GENERATED from the input and output models the API validates and answers with (crm/users,
crm/groups, crm/customfields, crm/settings ``schemas``): their JSON Schemas, enums from the
constants the code uses (roles, locales, record types, field kinds)."""
from __future__ import annotations

from pydantic.json_schema import models_json_schema

from ..customfields.schemas import FieldCreate, FieldList, FieldOut, FieldUpdate
from ..groups.schemas import (
    AccessReviewOut,
    GroupCreate,
    GroupList,
    GroupOut,
    GroupUpdate,
    HandOverList,
    HandOverSet,
    ImpactOut,
    ImpactRequest,
    TypeDefaultList,
    TypeDefaultSet,
)
from ..rules.schemas import RuleChange, RuleInput, RuleList, RuleOut
from ..settings.schemas import SettingsOut, SettingsUpdate
from ..users.schemas import UserCreate, UserList, UserOut, UserUpdate
from .oas import ID_SCHEMA, NO_CONTENT, _json, op, path_id, query, ref

REF_TEMPLATE = "#/components/schemas/{model}"

INPUTS = (UserCreate, UserUpdate, GroupCreate, GroupUpdate, FieldCreate, FieldUpdate, SettingsUpdate, ImpactRequest,
          TypeDefaultSet, HandOverSet, RuleInput, RuleChange)
OUTPUTS = (UserOut, UserList, GroupOut, GroupList, FieldOut, FieldList, SettingsOut, ImpactOut, AccessReviewOut,
           TypeDefaultList, HandOverList, RuleOut, RuleList)


def admin_schemas() -> dict:
    """The components of the admin models (input models as validated, output models as sent)."""
    _keys, top = models_json_schema([(m, "validation") for m in INPUTS] + [(m, "serialization") for m in OUTPUTS],
                                    ref_template=REF_TEMPLATE)
    return top["$defs"]


def admin_paths() -> dict:
    uid, gid, fid, rid = path_id("user_id"), path_id("group_id"), path_id("field_id"), path_id("rule_id")
    delete_user = op("Delete a user (204); one who has written, created, been responsible for or deleted "
                     "anything is deactivated instead (200 and the user). Not oneself, not the last active "
                     "admin (409) (admins)", NO_CONTENT, "403", "404", "409", params=[uid], tag="admin",
                     ok_status="204")
    delete_user["responses"]["200"] = _json(ref("UserOut"), "Deactivated instead")
    return {
        "/users": {
            "get": op("All users (admins)", _json(ref("UserList")), "403", tag="admin"),
            "post": op("Create a user (admins)", _json(ref("UserOut"), "Created"), "403", "409",
                       body=ref("UserCreate"), tag="admin", ok_status="201"),
        },
        "/users/{user_id}": {
            "get": op("One user (admins)", _json(ref("UserOut")), "403", "404", params=[uid], tag="admin"),
            "patch": op("Change a user: what the user page can change, audited the same way; a new password "
                        "or a deactivation ends their sessions and revokes their API token (admins)",
                        _json(ref("UserOut")), "403", "404", "409", body=ref("UserUpdate"), params=[uid],
                        tag="admin"),
            "delete": delete_user,
        },
        "/groups": {
            "get": op("All groups (admins)", _json(ref("GroupList")), "403", tag="admin"),
            "post": op("Create a group (admins)", _json(ref("GroupOut"), "Created"), "403", "409",
                       body=ref("GroupCreate"), tag="admin", ok_status="201"),
        },
        "/groups/{group_id}": {
            "get": op("One group (admins)", _json(ref("GroupOut")), "403", "404", params=[gid], tag="admin"),
            "patch": op("Rename a group or set its members (admins)", _json(ref("GroupOut")), "403", "404", "409",
                        body=ref("GroupUpdate"), params=[gid], tag="admin"),
            "delete": op("Delete a group; its records move to `move_to` (admins)", NO_CONTENT,
                         "403", "404", "409", "422", tag="admin", ok_status="204",
                         params=[gid, query("move_to", ID_SCHEMA, "Required while the group holds records")]),
        },
        "/groups/{group_id}/handovers": {
            "get": op("The hand-over targets of a group: groups its members may move its records into "
                      "though not members there (admins)", _json(ref("HandOverList")), "403", "404",
                      params=[gid], tag="admin"),
            "put": op("Let the members of a group hand its records over to `target_id`, with the action's "
                      "`label` (or relabel it), audited (admins)", _json(ref("HandOverList")), "403", "404",
                      "422", body=ref("HandOverSet"), params=[gid], tag="admin"),
        },
        "/groups/{group_id}/handovers/{target_id}": {
            "delete": op("No longer let the members of a group hand its records over to `target_id`, "
                         "audited (admins); 404 if they could not", NO_CONTENT, "403", "404", tag="admin",
                         ok_status="204", params=[gid, path_id("target_id")]),
        },
        "/impact": {
            "post": op("Impact preview: per user whose view would change, per record type, the counts of "
                       "records seen full / restricted / hidden before and after the change; nothing is "
                       "changed (admins); a change that would be refused is refused here too (409: "
                       "Basis cannot be deleted). `change`: new members of a group (`group_id`, "
                       "`member_ids`), deleting a group (`group_id`, `move_to`), a field's sharing "
                       "(`field_id`, `shared_with`), a new custom field (`new_field`: `entity`, "
                       "`shared_with`), switching the group system (`groups_enabled`)",
                       _json(ref("ImpactOut")), "403", "409", "422", body=ref("ImpactRequest"), tag="admin"),
        },
        "/access-review": {
            "get": op("Access review: every active user's groups and counts of records seen full / "
                      "restricted / hidden per type (admins)", _json(ref("AccessReviewOut")), "403", tag="admin"),
        },
        "/type-defaults": {
            "get": op("The default group of each record type: new records go there, whoever creates them; "
                      "`allow_own`: a creator may choose one of their groups instead (admins)",
                      _json(ref("TypeDefaultList")), "403", tag="admin"),
            "patch": op("Set or (with a null `group_id`) remove the default group of one record type, "
                        "audited (admins)", _json(ref("TypeDefaultList")), "403",
                        body=ref("TypeDefaultSet"), tag="admin"),
        },
        "/assignment-rules": {
            "get": op("The assignment rules of every record type, in their order: the first rule whose "
                      "conditions all hold puts a new record into its group (admins)",
                      _json(ref("RuleList")), "403", tag="admin"),
            "post": op("Add an assignment rule, last in the order of its type; audited (admins)",
                       _json(ref("RuleOut"), "Created"), "403", "422", body=ref("RuleInput"), tag="admin",
                       ok_status="201"),
        },
        "/assignment-rules/{rule_id}": {
            "patch": op("Change an assignment rule, or move it one step up or down (`move`); audited (admins)",
                        _json(ref("RuleOut")), "403", "404", "422", body=ref("RuleChange"), params=[rid],
                        tag="admin"),
            "delete": op("Delete an assignment rule; audited (admins)", NO_CONTENT, "403", "404",
                         params=[rid], tag="admin", ok_status="204"),
        },
        "/custom-fields": {
            "get": op("All custom fields (admins)", _json(ref("FieldList")), "403", tag="admin"),
            "post": op("Define a custom field (admins)", _json(ref("FieldOut"), "Created"), "403", "409",
                       body=ref("FieldCreate"), tag="admin", ok_status="201"),
        },
        "/custom-fields/{field_id}": {
            "patch": op("Rename, change options or sharing (admins)", _json(ref("FieldOut")), "403", "404",
                        "409", body=ref("FieldUpdate"), params=[fid], tag="admin"),
            "delete": op("Delete a custom field and its values (admins)", NO_CONTENT, "403", "404",
                         params=[fid], tag="admin", ok_status="204"),
        },
        "/settings": {
            "get": op("Account settings (admins)", _json(ref("SettingsOut")), "403", tag="admin"),
            "patch": op("Switch the group system (admins)", _json(ref("SettingsOut")), "403",
                        body=ref("SettingsUpdate"), tag="admin"),
        },
    }
