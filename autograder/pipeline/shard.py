"""Home of issue 16's grading on several machines (not built yet).

``python -m autograder autograde --shard k/N`` will grade the k-th of N disjoint shares of
the collected submissions (:func:`autograder.pipeline.run.submitted_pairs`, split here), and
a merge will combine the shards' gradebooks into one (or all shards share one database URL,
:attr:`autograder.course.Course.db_url`).
"""
