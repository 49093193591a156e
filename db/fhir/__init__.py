"""HL7 FHIR R4 interoperability: building resources from rows (``resources``), reading FHIR input
(``parsing``) and the command line (``python -m db.fhir``). Reads live in ``db.queries.fhir`` and writes in
``db.commands.fhir``, like every other query and command."""
