"""Motion representation: MANO parameters of both hands <-> per-frame feature vectors."""
