"""A deterministic demo province and a fast bulk loader for it.

The hub is shown, tested and benchmarked against data that looks like a real
Hà Nội: Vietnamese names with their diacritics, personal IDs that agree with the
birth year and sex they encode, class sizes and signature coverage taken from the
department's own reports (the shared seed documents, seeds/). ``generate`` produces the rows
without touching a database; ``load`` writes them as fast as the backend allows.
"""
