"""INSEE's reference files (COG, EPCI, populations, IRIS, QPV) read into a workspace's
territory tree and starter catalog: the logic of ``veille init``."""
