"""The facts about one PBX, read once and shared: by the doctor's checks, the guided setup's
steps and the recordings tab. Gathering only: the verdicts are the domain's."""
