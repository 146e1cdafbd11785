"""The built-in offline detector: featurizer, obfuscation decoding and the shipped linear model."""

from guardrails.detector.features import Unit, units
from guardrails.detector.model import CATEGORIES, DEFAULT_DIR, Detection, Detector

__all__ = ["CATEGORIES", "DEFAULT_DIR", "Detection", "Detector", "Unit", "units"]
