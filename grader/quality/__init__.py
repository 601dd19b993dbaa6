"""For course authors: is a suite fit to grade (`lint`), and how much does it catch (`mutants`,
with the mutation operators in `mutations`)?"""
