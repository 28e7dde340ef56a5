"""The list filters in the API: responsible user, stage/status, linked company and person - the
same filters as the list pages (crm.records.queries.narrowing), answered only from what the caller
may see, and in the OpenAPI document (the ``api`` client checks every answer against it)."""
from __future__ import annotations


def _names(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [item.get("name") or item.get("last_name") for item in resp.get_json()["items"]]


def test_stage_status_and_responsible(api, world, make):
    from crm.extensions import db

    world.d_nord.stage = "won"
    world.d_nord.responsible_id = world.normal.id
    db.session.commit()
    token = world.tokens.normal
    assert _names(api.get("/deals?stage=won", token=token)) == ["Nord-Deal"]
    assert _names(api.get("/deals?stage=open&stage=lost", token=token)) == ["Link-Deal"]
    assert _names(api.get("/deals?responsible=me", token=token)) == ["Nord-Deal"]
    assert _names(api.get(f"/deals?responsible={world.normal.id}", token=token)) == ["Nord-Deal"]
    assert _names(api.get("/projects?status=planned&status=active&status=on_hold&status=done&status=cancelled",
                          token=token)) == ["Nord-Projekt"]
    for bad in ("/deals?stage=gewonnen", "/deals?responsible=jemand", "/projects?status=won"):
        resp = api.get(bad, token=token)
        assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid"


def test_link_filters_answer_only_from_what_the_caller_sees(api, world):
    token = world.tokens.normal
    assert _names(api.get(f"/people?company_id={world.c_nord.id}", token=token)) == ["Kurz"]
    assert _names(api.get(f"/deals?person_id={world.p_nord.id}", token=token)) == ["Nord-Deal"]
    # Lena (visible) works at a restricted company, and Link-Deal points at a hidden person: the
    # filter by either id answers like an id that never existed
    for path in (f"/people?company_id={world.c_sued.id}", f"/deals?person_id={world.p_sued.id}"):
        missing = path.rsplit("=", 1)[0] + "=999999"
        hidden = api.get(path, token=token)
        assert _names(hidden) == []
        assert hidden.get_data() == api.get(missing, token=token).get_data()


def test_filters_are_in_the_document(api):
    doc = api.get("/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/deals"]["get"]["parameters"]}
    assert {"responsible", "stage", "company_id", "person_id"} <= params
    params = {p["name"] for p in doc["paths"]["/projects"]["get"]["parameters"]}
    assert "status" in params and "stage" not in params


def test_custom_field_filters(api, world, make):
    prio = make.field("deal", "Priorität", kind="select", options=["hoch", "niedrig"])
    volume = make.field("deal", "Volumen", kind="number")
    make.value(prio, world.d_nord, "hoch")
    make.value(prio, world.d_link, "niedrig")
    make.value(volume, world.d_nord, "1500")
    make.value(volume, world.d_link, "20.5")
    token = world.tokens.normal
    assert _names(api.get(f"/deals?cf_{prio.id}=hoch", token=token)) == ["Nord-Deal"]
    assert sorted(_names(api.get(f"/deals?cf_{prio.id}=hoch&cf_{prio.id}=niedrig", token=token))) == [
        "Link-Deal", "Nord-Deal"]
    assert _names(api.get(f"/deals?cf_{volume.id}_from=100", token=token)) == ["Nord-Deal"]
    assert _names(api.get(f"/deals?cf_{volume.id}_to=20.5&cf_{prio.id}=niedrig", token=token)) == ["Link-Deal"]
    company_field = make.field("company", "Branche")
    for bad in (f"cf_{volume.id}_from=1,5", f"cf_{volume.id}_to=viel", f"cf_{volume.id}=1500",
                f"cf_{prio.id}_from=hoch", f"cf_{company_field.id}=Top", "cf_999999=x", "cf_abc=x"):
        resp = api.get(f"/deals?{bad}", token=token)
        assert resp.status_code == 422, bad
        assert list(resp.get_json()["error"]["fields"]) == [bad.split("=")[0]]
