"""Grading rules of the transcript (học bạ): pure functions, no I/O (RULES.md §2–§3).

- ``secondary`` — grades 6–12, Circular 22/2021/TT-BGDĐT: subject averages
  (ĐTBmhk, ĐTBmcn), comment-only ratings, learning result, year conduct,
  promotion, re-test, summer re-training and awards.
- ``primary`` — grades 1–5, Circular 27/2020/TT-BGDĐT: completion levels,
  qualities and competencies, end-of-year tests and the year result.
- ``assumptions`` — every decision the rules make where no official text was
  found (rounding, the single-subject adjustment, the re-test replacement, …),
  named and documented in one place so it changes in one place.
"""
