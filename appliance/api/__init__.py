"""The HTTP API: quart-trio app, route declarations, errors and the OpenAPI document."""
