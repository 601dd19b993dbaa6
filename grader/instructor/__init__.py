"""The night after the deadline: fetch the class (`collect`, `gitrepo`, `github`, `arrivals`,
`roster`), check kits (`tamper`), grade what collect chose (`classgrade`), then grades with the
late policy (`late`, `grades`) out to gradebooks and reports (`publish`, `classreport`), and code
similarity (`similarity`)."""
