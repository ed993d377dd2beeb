"""Per-call reconciliation of the PBX, the bridge and the CRM (issue 21): every call one state."""
