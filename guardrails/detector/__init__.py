"""The built-in offline detector: featurizer, obfuscation decoding and the shipped model."""

from guardrails.detector.features import Unit, units
from guardrails.detector.model import CORE_HEADS, DEFAULT_DIR, Detection, Detector

__all__ = ["CORE_HEADS", "DEFAULT_DIR", "Detection", "Detector", "Unit", "units"]
