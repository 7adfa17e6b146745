"""The hidden tests' kit: stand-ins and NumPy twins that grading needs and students never get.

Only the graders' builds of the package hold this folder (the autograder's
``student_build.GRADER_ONLY``); the build students install does not. The modules here may
compute what a graded cell asks for (a fake VAE's NumPy twin reparameterizes, a decoder's NumPy
twin spells out its layers), which is why they must stay out of students' reach. The release
notebooks' visible checks therefore never import it; hidden tests do::

    from vaecourse.testkit import fakes as _g_fakes       # TensorFlow: LinearVAE, stand-ins
    from vaecourse.testkit import numpy_layers as _g_np   # PyTorch modules recomputed in NumPy

``fakes`` imports TensorFlow, ``numpy_layers`` only NumPy.
"""
