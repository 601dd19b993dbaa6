"""What a student runs: `grader check` (`checking`) and the reports a CI run reads (`ci`:
GitHub Actions' summary and annotations, Classroom 50's result file)."""
