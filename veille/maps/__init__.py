"""Maps of territories: contours from the catalog, classes of values, choropleths as SVG."""
