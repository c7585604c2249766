"""The headless commands behind `smolsight describe`, `summarize`, `eval` and `download`."""
