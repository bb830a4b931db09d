"""Sampling motions from trained models: loading run dirs, text conditioning, inpainting modes, long horizon."""
