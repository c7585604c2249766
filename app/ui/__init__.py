"""Qt widgets: the desktop app (the only package that imports QtWidgets)."""
