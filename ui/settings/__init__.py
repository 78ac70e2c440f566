"""Player settings: typed sections (model), their persistence (store) and the settings screens."""
