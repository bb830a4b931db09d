"""Wording of hand-object captions: how a hand holds the object and what the object does.

Observable words only (no purpose). Placeholders: ``{o}`` the object ("the ball", or "it"), ``{its}``
its possessive ("the box's", or "its"),
``{amt}`` an amount with a leading space (" about 11 cm", " by about 40 degrees") or nothing
(the detailed level appends the speed and timing after the whole phrase),
``{dir}`` a direction phrase of turns and tilts, ``{part}`` the moving part ("lid").
Action phrases are (singular finite, plural finite, gerund) triples.
"""

from __future__ import annotations

ActionPhrase = tuple[str, str, str]

ACTION_PHRASES: dict[str, list[ActionPhrase]] = {
    "lift": [("lifts {o}{amt}", "lift {o}{amt}", "lifting {o}{amt}"),
             ("raises {o}{amt}", "raise {o}{amt}", "raising {o}{amt}"),
             ("lifts {o} upward{amt}", "lift {o} upward{amt}", "lifting {o} upward{amt}")],
    "lower": [("lowers {o}{amt}", "lower {o}{amt}", "lowering {o}{amt}"),
              ("brings {o} down{amt}", "bring {o} down{amt}", "bringing {o} down{amt}"),
              ("moves {o} downward{amt}", "move {o} downward{amt}", "moving {o} downward{amt}")],
    "move_left": [("moves {o}{amt} to the left", "move {o}{amt} to the left", "moving {o}{amt} to the left"),
                  ("carries {o}{amt} to the left", "carry {o}{amt} to the left", "carrying {o}{amt} to the left"),
                  ("shifts {o}{amt} leftward", "shift {o}{amt} leftward", "shifting {o}{amt} leftward")],
    "move_right": [("moves {o}{amt} to the right", "move {o}{amt} to the right", "moving {o}{amt} to the right"),
                   ("carries {o}{amt} to the right", "carry {o}{amt} to the right",
                    "carrying {o}{amt} to the right"),
                   ("shifts {o}{amt} rightward", "shift {o}{amt} rightward", "shifting {o}{amt} rightward")],
    "push": [("pushes {o}{amt} forward, away from the body", "push {o}{amt} forward, away from the body",
              "pushing {o}{amt} forward, away from the body"),
             ("moves {o}{amt} forward", "move {o}{amt} forward", "moving {o}{amt} forward")],
    "pull": [("pulls {o}{amt} back toward the body", "pull {o}{amt} back toward the body",
              "pulling {o}{amt} back toward the body"),
             ("draws {o}{amt} backward", "draw {o}{amt} backward", "drawing {o}{amt} backward")],
    "turn": [("turns {o}{amt} {dir}", "turn {o}{amt} {dir}", "turning {o}{amt} {dir}"),
             ("rotates {o}{amt} about the vertical, {dir}", "rotate {o}{amt} about the vertical, {dir}",
              "rotating {o}{amt} about the vertical, {dir}")],
    "tilt": [("tilts {o}{amt}, {dir}", "tilt {o}{amt}, {dir}", "tilting {o}{amt}, {dir}"),
             ("tips {o}{amt}, {dir}", "tip {o}{amt}, {dir}", "tipping {o}{amt}, {dir}")],
    "open": [("opens {its} {part}{amt}", "open {its} {part}{amt}", "opening {its} {part}{amt}"),
             ("lifts {its} {part} open{amt}", "lift {its} {part} open{amt}", "lifting {its} {part} open{amt}")],
    "close": [("closes {its} {part}{amt}", "close {its} {part}{amt}", "closing {its} {part}{amt}"),
              ("swings {its} {part} shut{amt}", "swing {its} {part} shut{amt}", "swinging {its} {part} shut{amt}")],
    "hold": [("keeps {o} still", "keep {o} still", "keeping {o} still"),
             ("keeps {o} still in place", "keep {o} still in place", "keeping {o} still in place")],
}
# open/close of an object that opens as a whole (scissors, a flip phone)
WHOLE_OPENING: dict[str, list[ActionPhrase]] = {
    "open": [("opens {o}{amt}", "open {o}{amt}", "opening {o}{amt}")],
    "close": [("closes {o}{amt}", "close {o}{amt}", "closing {o}{amt}")],
}
TURN_WORDS: dict[str, str] = {  # object_events direction -> {dir}
    "clockwise from above": "clockwise as seen from above",
    "counterclockwise from above": "counterclockwise as seen from above",
    "left side rising": "raising its left side",
    "right side rising": "raising its right side",
    "tipping forward": "tipping its top away from the body",
    "tipping back": "tipping its top toward the body",
}
REACH_WORDS: dict[str, str] = {"left": "to the left", "right": "to the right", "up": "up", "down": "down",
                                "forward": "forward", "back": "back toward the body"}  # travel before a grasp
# (finite, gerund) of a hand holding the object; {o} = "the ball"
GRIPS: list[tuple[str, str]] = [("holds {o}", "holding {o}"), ("grips {o}", "gripping {o}"),
                                ("keeps hold of {o}", "keeping hold of {o}")]
GRASPS: list[tuple[str, str]] = [("grasps {o}", "grasping {o}"), ("takes hold of {o}", "taking hold of {o}"),
                                 ("closes its fingers around {o}", "closing its fingers around {o}")]
STEADY: list[str] = ["holds {o} steady", "keeps {o} in place", "holds {o} still"]
PART_GRIP: list[str] = ["grips the {part} of {o}", "holds the {part} of {o}", "takes the {part} of {o}"]
PART_MOVES: dict[str, list[str]] = {"open": ["lifts {x} open{amt}", "swings {x} open{amt}"],
                                    "close": ["closes {x}{amt}", "swings {x} shut{amt}"]}  # {x}: "it", "the lid"
# two holding hands; {plural}/{singular} are action phrases about "it"
BOTH_HOLD: list[str] = ["Both hands hold {o} and {plural}.", "The two hands hold {o} between them and {plural}.",
                        "Holding {o} with both hands, the person {singular}."]
ONE_HOLDS: list[str] = ["The {h} hand holds {o} and {singular} while the {f} hand {other}.",
                        "Only the {h} hand holds {o}; it {singular} and the {f} hand {other}."]
STEADY_AND_PART: list[str] = ["The {s} hand holds {o} steady while the {m} hand {part_action}.",
                              "While the {s} hand keeps {o} in place, the {m} hand {part_action}."]
TOUCHES: list[str] = ["The {h} hand touches {o}.", "The {h} hand makes contact with {o}."]
NO_HAND_CONTACT: list[str] = ["The hands do not touch each other.", "The two hands do not touch each other."]
