"""Speech: our own voice, in a helper process so a speech engine that hangs never stalls SmolSight."""
