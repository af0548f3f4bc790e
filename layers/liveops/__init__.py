"""liveops: serverless live-ops telemetry backend for games and Discord communities."""

__version__ = "0.1.0"
