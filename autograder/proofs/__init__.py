"""The proofs: sample submissions graded through the real pipeline, with exact expected scores.

``sample`` is what sample authors import; ``build`` turns samples into notebooks; ``cases``
makes damaged and adversarial submissions; ``verify`` compares expected with actual scores;
``demo`` grades all of them as a class.
"""
