"""Use cases of the course service: small functions of (command, unit of work, caller).

One module per area; each handler opens its unit of work, checks who may do what, changes the
domain objects, writes them back through the repositories and commits once.
"""
