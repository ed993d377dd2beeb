"""Reading what reconciliation joins against the PBX's calls: the bridge's log and the CRM's
activity export, both streamed (issue 21)."""
