"""The nine steps of the guided setup, one module each, in the wizard's order."""
