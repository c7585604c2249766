"""Developer tools shipped with the app: the local model builder."""
