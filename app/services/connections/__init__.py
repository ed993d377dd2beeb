"""Saved connections and their keys: the store, validation, the keyring vault, staged and rotated keys."""
