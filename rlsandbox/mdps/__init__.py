"""The instance zoo: named and random tabular MDPs (see each builder's docstring for sources)."""
from rlsandbox.mdps.classic import riverswim

__all__ = ["riverswim"]
