"""Background jobs (RQ): bulk imports and the dialing feed loop."""
