"""Readers and converters for ARCTIC, AssemblyHands-X and synthetic data; captioning."""
