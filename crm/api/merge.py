"""Merging two duplicates in the API: ``POST /people/<id>/merge`` and ``POST /companies/<id>/merge``
with ``{"other_id": …, "choices": {…}}`` answer the survivor's JSON. The rules are
:mod:`crm.merge.services`'; a hidden or missing record is 404, a restricted one 403, as for every
other write."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..input_types import parse_input
from ..merge.schemas import MergeInput
from ..merge.services import merge as merge_records
from ..merge.services import mergeable
from ..records.loaders import load_record
from ..records.types import TYPES, RecordType
from .base import ID, bp
from .inputs import json_body
from .serialize import record_json


def register(rtype: RecordType) -> None:
    plural = rtype.plural

    def merge(record_id: int):
        load_record(rtype, record_id, write=True)  # hidden 404, restricted 403: as every write
        data = parse_input(MergeInput, json_body())
        done = merge_records(g.viewer, rtype, record_id, data)
        db.session.commit()
        return jsonify(record_json(rtype, load_record(rtype, done.survivor.id), g.viewer))

    bp.add_url_rule(f"/{plural}/<{ID}:record_id>/merge", f"{plural}_merge", merge, methods=["POST"])


for _rtype in TYPES.values():
    if mergeable(_rtype):
        register(_rtype)
