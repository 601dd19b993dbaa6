"""One submission: run its suite in a pytest child forked from a warm Python (`suite`,
`forkserver`), where the plugin (`plugin`) starts the server through the sandbox, keeps one crash
to one test (`crashes`, `wait`) and fills the result; `grade` turns that into the grade."""
