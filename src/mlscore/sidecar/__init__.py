"""The sidecar: a reverse proxy and payload-log tap that exports drift and serving metrics."""
