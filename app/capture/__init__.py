"""Capture: frame sources, the latest-frame mailbox, the 1 FPS buffer and media files."""
