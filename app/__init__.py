"""PBX Companion: diagnose and set up 3CX-to-CRM call recording integrations."""

__version__ = "0.1.0"
