"""The application shell, on top of the house: the `veille` command line (one module per
command group), the jobs it runs and the demo runner. Nothing below imports it."""
