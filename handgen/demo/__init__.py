"""``handgen demo``: every stage of the suite on synthetic data, resumable, in minutes on a CPU."""
