"""course-grader: black-box autograding for Internet-programming assignments.

collect -> build -> run -> test -> score -> report:
`batch.grade_class` collects a class, `images` builds the runtime image, `sandbox` runs each
submission, `plugin` runs the pytest suite against it, `grade` scores, `report` renders.
"""

from .batch import grade_class
from .config import Assignment, ConfigError, Course, load_course
from .grade import grade_submission
from .results import Result, TestResult
from .sandbox import InfraError, StartupError

__all__ = ["Assignment", "ConfigError", "Course", "InfraError", "Result", "StartupError",
           "TestResult", "grade_class", "grade_submission", "load_course"]
