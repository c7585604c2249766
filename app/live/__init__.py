"""Live narration sessions shared by the desktop app and the CLI (QtCore only)."""
