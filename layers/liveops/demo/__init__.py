"""Demo traffic: realistic telemetry batches for the example apps (and any other app config)."""
