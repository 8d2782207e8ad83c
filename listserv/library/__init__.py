"""The resource library: what members share in posts, curated by mail (docs/library.md)."""
