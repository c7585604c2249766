"""SmolSight's bundled files: the sample video, the evaluation set, icons (data only)."""
