"""The training loop, callbacks, distribution, the portable (JAX) trainer, background jobs."""
