"""Which packages SmolSight's wheel carries: found in the tree, never listed by hand.

Every package under app/ (a folder with an `__init__.py`), and resources/ installed as
`app.resources` with its sub-folders (the mapping and the file patterns are in pyproject.toml).
A hand-kept list once left `app.speech` out of the wheel: the installed app could not start
while every test of the editable checkout passed (tests/e2e/test_installed_app.py now installs the
wheel as users do).
"""

from setuptools import find_namespace_packages, find_packages, setup

code = find_packages(include=["app", "app.*"])
resources = [
    "app.resources",
    *(f"app.resources.{name}" for name in find_namespace_packages(where="resources")),
]
setup(packages=[*code, *resources])
