"""The models every floor shares: the course's YAML files (`config`), the contract with the
pytest child (`job`), the one result model and its store (`results`), what a submission is
(`submission`, `rules`, `requirements`), text from a submission made safe to show (`text`) and
the pure renderers of a result (`report`). Nothing here starts a process or a container."""
