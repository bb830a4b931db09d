"""Captioners of motion events (HandX's annotation, step 3): rules (offline) and an OpenAI-compatible LLM.

:mod:`.run` is ``handgen caption``; :mod:`.rules` and :mod:`.openai_captioner` turn one clip's
events JSON into K ``{left, right, both}`` triplets.
"""
