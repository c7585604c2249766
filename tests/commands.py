"""`smolsight` run as its own process, the way a user runs it, for tests of what a terminal shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Makes `import torch` (and transformers, which needs it) fail, as in an install without them.
NO_TORCH = (
    "import sys; sys.modules.update({'torch': None, 'transformers': None, 'torchvision': None}); "
    "from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def smolsight(
    *args: str, env: dict[str, str] | None = None, without_torch: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `smolsight ARGS` (the console script beside this Python) and collect what it printed.

    `without_torch` runs it where PyTorch can't be imported, as in the default install.
    """
    if without_torch:
        command = [sys.executable, "-c", NO_TORCH, *args]
    else:
        command = [str(Path(sys.executable).with_name("smolsight")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
