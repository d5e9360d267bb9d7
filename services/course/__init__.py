"""Course service: catalogue, authoring, enrolments, reviews and quizzes."""
