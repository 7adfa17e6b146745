"""Home of issue 11's ``python -m autograder publish OUT`` (not built yet).

It will write the student distribution of a term: the release notebooks
(:mod:`autograder.pipeline.release`), the student build of the helpers package
(:mod:`autograder.pipeline.student_build`, fill-ins of assignments not yet past their due
date stripped) and a README for students; nothing else. The course configuration it reads
(``course.toml``: repository, tag, assignments, due dates) comes through
:meth:`autograder.course.Course.default`.
"""
