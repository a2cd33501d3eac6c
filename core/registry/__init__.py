"""Module discovery, dependency resolution, installed state and the per-app plugin manager."""
