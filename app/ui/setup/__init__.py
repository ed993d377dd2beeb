"""The guided setup: the wizard, what its steps share, and (in ``steps``) the nine steps."""
