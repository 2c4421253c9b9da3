"""Probe a live model endpoint: protocol adapters, checks, and the ProbeReport (httpx loaded lazily)."""

from __future__ import annotations
