"""Home of issue 13's hand-grading support (not built yet).

It will launch nbgrader's formgrader on this course's gradebook (from the course root),
count the written answers still ungraded per assignment (``python -m autograder status``),
and put each student's own outputs (from ``originals/``) and the rubrics (from
``solutions/``) where the grader works. Feedback and export (:mod:`autograder.pipeline.run`,
:mod:`autograder.pipeline.export`) will ask it whether hand grading is finished.
"""
