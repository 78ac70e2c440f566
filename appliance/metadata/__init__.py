"""Metadata and images (issue 4): Kodi NFO files and local artwork, then TMDB; the image cache."""
