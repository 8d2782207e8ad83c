"""The community's memory: the web archive, its search, feeds and exports (docs/archive.md)."""
