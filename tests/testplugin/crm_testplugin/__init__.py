"""A third-party plugin as an integrator would write it, used by the core's tests."""
