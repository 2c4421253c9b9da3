"""Shared test helpers: real servers (MLServer) started on 127.0.0.1 for integration tests."""
