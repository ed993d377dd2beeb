"""Finding a call's recording: the lookup, matching calls to recordings, the results, their verdicts, and watching from hang-up."""
