"""torch-conformance: declarative, property-based conformance specs for PyTorch.

Data flows one way: spec (YAML) -> strategies -> steps/checks -> pytest items -> results JSON
-> report / gate / drift check.  Each stage is one small module named after it.
"""

__version__ = "0.1.0"
