"""Pure domain rules: no framework, no database, no I/O.

Each rule lives in exactly one function named for what it decides, with the
regulation it implements in its docstring (see ../shared/domain/RULES.md).
"""
