"""The bundled scenario files, installed as package data of ``model.bundled_scenarios``.

This folder is data: the TOML files are read, never executed (docs/scenarios.md). The package
marker lets an installed wheel, and an editable install, find them with importlib.resources.
The scripts in generators/ rewrite the larger files and are not installed.
"""
