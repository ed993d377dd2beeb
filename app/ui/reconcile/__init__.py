"""The Reconcile pane: did every call of a period land in the CRM, with its recording."""
