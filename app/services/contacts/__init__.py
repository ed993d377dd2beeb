"""CRM exports read as contacts: the importer and the streamed CSV it stands on."""
