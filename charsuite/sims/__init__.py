"""ToF-SIMS cubes, depth profiles, interfaces, co-localisation and 3D tomograms."""
