"""Poster images: the ImageService (memory and disk caches, demand-driven fetch and decode) and
the per-frame GPU upload budget."""
