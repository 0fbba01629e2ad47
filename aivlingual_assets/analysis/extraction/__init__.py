"""The offline extractor's rule families, one module each; the driver is analysis/offline_extractor.py."""
