"""handgen's file formats and safe writing."""
