"""Hand models with MANO's parameters: the built-in ProceduralHand and the real MANO (ManoHand)."""

from handgen.hand.base import HandModel, HandOutput
from handgen.hand.factory import make_hand_pair, make_hand
from handgen.hand.pair import HandPair
from handgen.hand.procedural import ProceduralHand

__all__ = ["HandModel", "HandOutput", "HandPair", "ProceduralHand", "make_hand", "make_hand_pair"]
