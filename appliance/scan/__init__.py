"""Library scanning: walking folders, understanding file names, queueing the work."""
