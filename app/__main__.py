"""`python -m app`: the same as the `smolsight` command (the desktop app by default)."""

from app.cli import entry

if __name__ == "__main__":
    entry()
