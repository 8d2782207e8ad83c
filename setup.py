"""Packaging beyond pyproject.toml: the repository's templates/ folder ships as listserv/templates/."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["listserv", "listserv.*"]), "listserv.migrations.versions", "listserv.templates"],
    package_dir={"listserv.templates": "templates"},
)
