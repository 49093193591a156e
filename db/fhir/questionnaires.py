"""The Questionnaire resources published with the export (PHQ-9, GAD-7), built from the reference data.

What a sender needs to build a QuestionnaireResponse the import accepts: the canonical URL to name in
``questionnaire``, one ``choice`` item per scored question whose ``linkId`` is the item's LOINC code, answer
options coded with the LOINC answer list (LA codes) carrying their scores, and the total score as a read-only
integer item. Definitions: ``clinical/data/questionnaires.json``; items and codes: ``instruments.json``.
"""

from __future__ import annotations

import json
from typing import Any

import clinical
from clinical import interop

Resource = dict[str, Any]


def questionnaire_resource(definition: interop.QuestionnaireDefinition) -> Resource:
    info = clinical.instrument_info(definition.instrument)
    options = [
        {
            "valueCoding": {"system": interop.LOINC_SYSTEM, "code": answer.code, "display": answer.display},
            "extension": [{"url": interop.ordinal_value_extension(), "valueDecimal": answer.score}],
        }
        for answer in interop.answer_codes(definition.instrument)
    ]
    items: list[Resource] = [
        {
            "linkId": code,
            "code": [{"system": interop.LOINC_SYSTEM, "code": code, "display": label}],
            "prefix": f"{number}.",
            "text": label,
            "type": "choice",
            "required": True,
            "answerOption": options,
        }
        for number, (code, label) in enumerate(zip(info.item_loinc, info.item_labels, strict=True), start=1)
    ]
    if info.loinc_total:
        items.append(
            {
                "linkId": info.loinc_total,
                "code": [
                    {
                        "system": interop.LOINC_SYSTEM,
                        "code": info.loinc_total,
                        "display": f"{definition.instrument} total score",
                    }
                ],
                "text": f"{definition.instrument} total score (sum of the items; checked on import)",
                "type": "integer",
                "required": False,
                "readOnly": True,
            }
        )
    resource: Resource = {
        "resourceType": "Questionnaire",
        "id": definition.id,
        "url": definition.url,
        "version": definition.version,
        "name": definition.name,
        "title": definition.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": definition.stem,
        "copyright": definition.copyright,
        "item": [{"linkId": "stem", "type": "display", "text": definition.stem}, *items],
    }
    if info.loinc_panel:
        resource["code"] = [{"system": interop.LOINC_SYSTEM, "code": info.loinc_panel, "display": definition.title}]
    return resource


def published_questionnaires() -> list[Resource]:
    """Every Questionnaire the program publishes, in a fixed order (PHQ-9, GAD-7)."""
    return [questionnaire_resource(definition) for definition in interop.questionnaire_definitions()]


def questionnaire_bundle_bytes() -> bytes:
    """The published Questionnaires as a ``collection`` Bundle (JSON), for a sender to download."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": q["url"], "resource": q} for q in published_questionnaires()],
    }
    return (json.dumps(bundle, indent=2) + "\n").encode("utf-8")
