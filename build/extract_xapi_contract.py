"""Extract the XAPI response schemas the simulator serves from 3CX's OpenAPI spec.

Usage: python build/extract_xapi_contract.py [SPEC_YAML] [OUT_JSON]
Defaults: ../shared/3cx/xapi-v20-swagger.yaml and tests/contract/xapi-v20-contract.json,
relative to the repository root.

The output is plain JSON Schema (draft 2020-12): OpenAPI's `nullable` becomes a type list
with "null", `$ref`s point at `#/$defs/...`, and non-JSON-Schema formats (int32, int64,
decimal) are dropped. Only the schemas reachable from the endpoints below are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "3cx" / "xapi-v20-swagger.yaml"
DEFAULT_OUT = ROOT / "tests" / "contract" / "xapi-v20-contract.json"

CALL_LOG = (
    "/ReportCallLogData/Pbx.GetCallLogData(periodFrom={periodFrom},periodTo={periodTo},"
    "sourceType={sourceType},sourceFilter={sourceFilter},destinationType={destinationType},"
    "destinationFilter={destinationFilter},callsType={callsType},"
    "callTimeFilterType={callTimeFilterType},callTimeFilterFrom={callTimeFilterFrom},"
    "callTimeFilterTo={callTimeFilterTo},hidePcalls={hidePcalls})"
)

# (key in the contract, method, path in the spec, status)
ENDPOINTS: list[tuple[str, str, str, str]] = [
    ("GET /Defs", "get", "/Defs", "200"),
    ("GET /SystemStatus", "get", "/SystemStatus", "200"),
    ("GET /Defs/Pbx.GetLicenseParameters()", "get", "/Defs/Pbx.GetLicenseParameters()", "200"),
    ("GET /LicenseStatus", "get", "/LicenseStatus", "200"),
    ("GET /E164Settings", "get", "/E164Settings", "200"),
    ("GET /OfficeHours", "get", "/OfficeHours", "200"),
    ("GET /Defs/TimeZones", "get", "/Defs/TimeZones", "200"),
    ("GET /PhoneBookSettings", "get", "/PhoneBookSettings", "200"),
    ("GET /Users", "get", "/Users", "200"),
    ("GET /Users({Id})", "get", "/Users({Id})", "200"),
    ("GET /Queues", "get", "/Queues", "200"),
    ("GET /Contacts", "get", "/Contacts", "200"),
    ("GET /ActiveCalls", "get", "/ActiveCalls", "200"),
    ("GET /InboundRules", "get", "/InboundRules", "200"),
    ("GET /Groups", "get", "/Groups", "200"),
    ("GET /ServicePrincipals", "get", "/ServicePrincipals", "200"),
    ("GET /ServicePrincipals({Id})", "get", "/ServicePrincipals({Id})", "200"),
    ("POST /ServicePrincipals", "post", "/ServicePrincipals", "201"),
    (
        "POST /ServicePrincipals({Id})/Pbx.GenerateAppToken",
        "post",
        "/ServicePrincipals({Id})/Pbx.GenerateAppToken",
        "200",
    ),
    ("GET /ReportCallLogData/Pbx.GetCallLogData(...)", "get", CALL_LOG, "200"),
    ("GET /CallHistoryView", "get", "/CallHistoryView", "200"),
    ("GET /Recordings", "get", "/Recordings", "200"),
    (
        "GET /Recordings/Pbx.GetRecordingRepositorySettings()",
        "get",
        "/Recordings/Pbx.GetRecordingRepositorySettings()",
        "200",
    ),
]
ERROR_SCHEMA = "Pbx.ODataErrors.ODataError"
KEEP_FORMATS = {"date-time", "duration", "uuid", "date"}
DROP_KEYS = {
    "example",
    "examples",
    "xml",
    "discriminator",
    "externalDocs",
    "readOnly",
    "writeOnly",
    "deprecated",
}


def convert(node: Any, refs: set[str]) -> Any:
    if isinstance(node, list):
        return [convert(x, refs) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    nullable = bool(node.get("nullable"))
    for key, value in node.items():
        if key == "nullable" or key.startswith("x-") or key in DROP_KEYS:
            continue
        if key == "$ref":
            name = value.rsplit("/", 1)[-1]
            refs.add(name)
            out["$ref"] = f"#/$defs/{name}"
        elif key == "format":
            if value in KEEP_FORMATS:
                out["format"] = value
        elif key == "properties":
            out["properties"] = {k: convert(v, refs) for k, v in value.items()}
        else:
            out[key] = convert(value, refs)
    if nullable:
        if "type" in out and "enum" not in out and "allOf" not in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(spec: dict[str, Any], method: str, path: str, status: str) -> Any:
    resp = spec["paths"][path][method]["responses"][status]
    if "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
    return resp["content"]["application/json"]["schema"]


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    refs: set[str] = {ERROR_SCHEMA}
    endpoints: dict[str, Any] = {}
    for key, method, path, status in ENDPOINTS:
        endpoints[key] = convert(response_schema(spec, method, path, status), refs)
    defs: dict[str, Any] = {}
    pending = set(refs)
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        found: set[str] = set()
        defs[name] = convert(schemas[name], found)
        pending |= found - set(defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "3CX XAPI v20 response schemas served by app.sim; generated by "
        "build/extract_xapi_contract.py from 3CX's OpenAPI spec. Do not edit by hand.",
        "info": {"title": spec["info"].get("title"), "version": spec["info"].get("version")},
        "error": {"$ref": f"#/$defs/{ERROR_SCHEMA}"},
        "endpoints": endpoints,
        "$defs": dict(sorted(defs.items())),
    }


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    out_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    with spec_path.open(encoding="utf-8") as fh:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec = yaml.load(fh, Loader=loader)
    contract = extract(spec)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(contract, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(
        f"wrote {out_path} ({len(contract['$defs'])} schemas, "
        f"{len(contract['endpoints'])} endpoints)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
