"""The customer PBX list, the add/edit dialog and the key rotation dialog."""
