"""ToF-SIMS: TofDAQ cubes, streamed depth profiles, depth calibration, co-localisation."""
